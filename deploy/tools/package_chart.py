#!/usr/bin/python3
"""Packages a Helm chart directory into <name>-<version>.tgz the way `helm package` lays it out,
for machines without Helm (it is not a Debian 12 package). deploy/render.sh --package runs it when
`helm` is not installed.

  package_chart.py CHART_DIR OUT_DIR

The archive (gzip'd tar), as Helm's chartutil.Save writes it:
  - every entry under one top-level folder named after the chart (dfaas/...);
  - Chart.yaml first, then values.yaml, then values.schema.json, then templates/, then the other
    files, each group in lexical path order (Helm loads the directory with a lexical walk);
  - regular files only, mode 0644, no directory entries; symbolic links are stored as the file
    they point to (Helm's loader follows them).
.helmignore is applied as Helm applies it: one pattern per line (# comments), a pattern with a
'/' matches the path from the chart's root, one without matches the name at any depth, a trailing
'/' matches directories only (and everything under them); `*`, `?` and `[...]` as in shell
globs, `*` never crossing '/'. Hidden files under templates/ are always left out (Helm's default).
Refused (exit 1, naming the problem): a Chart.yaml without apiVersion v2, name or a SemVer
version, a name that is not the directory's, a .helmignore rule with `!` or `**` (use helm for
those), a symbolic link that leads nowhere or to a directory outside the chart.
"""
import io
import os
import re
import sys
import tarfile
import time

import yaml

# SemVer 2 as Helm requires for a chart's version.
SEMVER = re.compile(r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")


class PackageError(Exception):
    pass


def glob_regex(pattern):
    """A shell glob as a regular expression where * and ? never match '/'."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise PackageError(f".helmignore: {pattern!r}: unclosed '['")
            body = pattern[i + 1:end]
            out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


class IgnoreRules:
    """The chart's .helmignore plus Helm's default rule (hidden files under templates/)."""

    def __init__(self, text):
        self.rules = []  # (regex, whole path?, directories only?)
        for line in text.splitlines() + ["templates/.?*"]:
            rule = line.strip()
            if not rule or rule.startswith("#"):
                continue
            if rule.startswith("!") or "**" in rule:
                raise PackageError(f".helmignore: {rule!r}: negation and ** are not implemented here: use helm package")
            dir_only = rule.endswith("/")
            rule = rule.rstrip("/").lstrip("/") if rule.startswith("/") else rule.rstrip("/")
            self.rules.append((glob_regex(rule), "/" in rule or line.strip().startswith("/"), dir_only))

    def ignored(self, rel, is_dir):
        for regex, whole_path, dir_only in self.rules:
            if dir_only and not is_dir:
                continue
            if regex.match(rel if whole_path else rel.rsplit("/", 1)[-1]):
                return True
        return False


def chart_files(chart_dir):
    """Relative paths of the chart's files (symlinks followed, .helmignore applied), in the order
    of a lexical walk that enters each directory where its name sorts (as Go's filepath.Walk,
    which Helm's loader uses)."""
    ignore_file = os.path.join(chart_dir, ".helmignore")
    rules = IgnoreRules(open(ignore_file).read() if os.path.exists(ignore_file) else "")
    root_real = os.path.realpath(chart_dir)
    files = []

    def walk(rel_dir):
        for name in sorted(os.listdir(os.path.join(chart_dir, rel_dir))):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = os.path.join(chart_dir, rel)
            if os.path.isdir(full):
                if rules.ignored(rel, True):
                    continue
                real = os.path.realpath(full)
                if not (real + os.sep).startswith(root_real + os.sep):
                    raise PackageError(f"{rel}: a directory link leaving the chart")
                walk(rel)
            elif not rules.ignored(rel, False):
                if not os.path.isfile(full):
                    raise PackageError(f"{rel}: not a regular file (a dangling link?)")
                files.append(rel)

    walk("")
    return files


def ordered(files):
    """Helm's order: Chart.yaml, values.yaml, values.schema.json, templates, other files (each
    group in walk order)."""
    head = [f for f in ("Chart.yaml", "values.yaml", "values.schema.json") if f in files]
    templates = [f for f in files if f.startswith("templates/")]
    rest = [f for f in files if f not in head and not f.startswith("templates/")]
    return head + templates + rest


def package(chart_dir, out_dir):
    chart_dir = chart_dir.rstrip("/")
    try:
        with open(os.path.join(chart_dir, "Chart.yaml")) as f:
            meta = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise PackageError(f"{chart_dir}: no Chart.yaml") from None
    name, version = meta.get("name"), str(meta.get("version", ""))
    if meta.get("apiVersion") != "v2" or not name:
        raise PackageError("Chart.yaml: apiVersion v2 and a name are required")
    if not SEMVER.match(version):
        raise PackageError(f"Chart.yaml: version {version!r} is not SemVer 2")
    if name != os.path.basename(os.path.realpath(chart_dir)):
        raise PackageError(f"Chart.yaml: name {name!r} is not the chart directory's name")
    files = ordered(chart_files(chart_dir))
    if "values.yaml" not in files:
        raise PackageError("values.yaml missing")
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, f"{name}-{version}.tgz")
    now = time.time()
    with tarfile.open(target + ".tmp", "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel in files:
            with open(os.path.join(chart_dir, rel), "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = now
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    os.replace(target + ".tmp", target)
    return target


def main():
    if len(sys.argv) != 3:
        print("usage: package_chart.py CHART_DIR OUT_DIR", file=sys.stderr)
        return 2
    try:
        print(package(sys.argv[1], sys.argv[2]))
    except PackageError as e:
        print(f"package_chart: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
