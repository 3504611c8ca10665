#!/usr/bin/python3
"""Runs deploy/Dockerfile's steps without Docker (no engine on the project's machines).

The Dockerfile is parsed (ARG, FROM, SHELL, ENV, RUN, COPY, LABEL, EXPOSE, STOPSIGNAL,
ENTRYPOINT, CMD, WORKDIR; anything else fails the test so that it gets handled here) and its
stages are replayed in a scratch directory, container paths mapped below it:
  - COPY from the context copies the repository filtered by deploy/Dockerfile.dockerignore;
    COPY --from=<stage> copies that stage's files;
  - RUN apt-get steps are not executed (they would install into this machine): every package
    must exist in Debian 12's archive, the build stage's must be among scripts/setup.sh's (so the
    project builds with the same ones), and the runtime stage's must provide every shared library
    the staged binaries load;
  - other RUN steps are executed with the stage's SHELL and ENV (paths mapped), so
    deploy/image/build.sh really configures the image's build tree with the image's options and
    stages the image's files. The compile itself uses the project's build tree (DFAAS_PREBUILT;
    a from-scratch compile takes ~20 min on 2 cores; DFAAS_IMAGE_TEST_FULL=1 does it anyway).
Then the image's file tree is checked: ENTRYPOINT exists and is executable, the binaries run,
EXPOSEd ports are the chart's. First, deploy/image/build.sh's other subcommands (image, save,
import into k3s) are checked without docker or k3s: usage, --dry-run's commands, refusals.
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploylib as dl  # noqa: E402

import yaml  # noqa: E402

DOCKERFILE = os.path.join(dl.REPO, "deploy", "Dockerfile")
IGNORE = DOCKERFILE + ".dockerignore"
# In debian:12-slim already (Priority required), so not installed by the Dockerfile.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0"}
KNOWN = {"ARG", "FROM", "SHELL", "ENV", "RUN", "COPY", "LABEL", "EXPOSE", "STOPSIGNAL", "ENTRYPOINT",
         "CMD", "WORKDIR"}


BUILD_SCRIPT = os.path.join(dl.REPO, "deploy", "image", "build.sh")


def check_build_script(t):
    """deploy/image/build.sh's image, save and import subcommands, without docker or k3s: usage,
    the commands --dry-run prints, and the refusals."""
    def run(*args, **env):
        # No docker, podman or k3s on PATH here: only what the script itself needs.
        e = {"PATH": "/usr/bin:/bin", **env}
        return subprocess.run([BUILD_SCRIPT, *args], capture_output=True, text=True, env=e)

    with open(os.path.join(dl.CHART, "Chart.yaml")) as f:
        app_version = yaml.safe_load(f)["appVersion"]
    values = dl.load_values()
    default = f"{values['image']['repository']}:{values['image']['tag'] or app_version}"
    r = run("--help")
    t.check(r.returncode == 0 and all(w in r.stdout for w in ("image", "save", "import", "k3s ctr images import")),
            "build.sh --help lists image, save, import (k3s ctr images import)")
    r = run("import", "--dry-run")
    t.check(r.returncode == 0 and r.stdout.splitlines()[:1] == [f"+ docker save {default} | k3s ctr images import -"],
            f"import --dry-run pipes the chart's default image {default} into k3s ({r.stdout.splitlines()[:1]})")
    r = run("import", "--dry-run", "-a", "/tmp/dfaas agent.tar", DFAAS_ENGINE="podman")
    t.check(r.returncode == 0 and r.stdout.splitlines()[:1] == ["+ k3s ctr images import /tmp/dfaas\\ agent.tar"],
            f"import --dry-run -a FILE imports the archive, the path quoted ({r.stdout.splitlines()[:1]})")
    t.check(f"grep -Fx {default}" in r.stdout, "import then checks k3s has the image under the chart's name")
    r = run("image", "--dry-run", "-t", "registry.example:5000/dfaas-agent:test", DFAAS_ENGINE="podman")
    want = f"+ podman build -f {dl.REPO}/deploy/Dockerfile -t registry.example:5000/dfaas-agent:test {dl.REPO}"
    t.check(r.returncode == 0 and r.stdout.strip() == want, f"image --dry-run builds deploy/Dockerfile ({r.stdout.strip()})")
    r = run("save", "--dry-run", "-o", "out.tar")
    t.check(r.returncode == 0 and r.stdout.strip() == f"+ docker save -o out.tar {default}", f"save --dry-run ({r.stdout.strip()})")
    r = run("import")
    t.check(r.returncode == 1 and "k3s not found" in r.stderr, f"import without k3s says so ({r.stderr.strip()[:120]})")
    r = run("image")
    t.check(r.returncode == 1 and "neither docker nor podman" in r.stderr, f"image without an engine says so ({r.stderr.strip()[:120]})")
    for args, what in ((["deploy"], "an unknown subcommand"), (["import", "--tag"], "a missing tag"),
                       (["save", "-a", "x.tar"], "--archive outside import"), ([], "no subcommand")):
        r = run(*args)
        t.check(r.returncode == 2 and not r.stdout and "build.sh import" in r.stderr,
                f"{what}: exit 2 with the usage on stderr")
    r = run("image", "--dry-run", DFAAS_ENGINE="nerdctl")
    t.check(r.returncode == 1 and "DFAAS_ENGINE=nerdctl" in r.stderr, "an unknown DFAAS_ENGINE is refused, named")


def logical_lines(text):
    """Instructions with continuations joined; comments and parser directives dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # comment lines inside a continuation are removed by Docker
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        out.append(cur.strip())
        cur = ""
    if cur:
        out.append(cur.strip())
    return out


def substitute(text, variables):
    def repl(m):
        name = m.group(1) or m.group(3)
        default = m.group(2)
        value = variables.get(name)
        if value is None or value == "":
            return default if default is not None else ""
        return value
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, text)


def parse_kv(rest):
    """ENV/ARG/LABEL key=value pairs (values may be quoted)."""
    pairs = {}
    for tok in shlex.split(rest):
        if "=" in tok:
            k, v = tok.split("=", 1)
            pairs[k] = v
        else:
            pairs[tok] = None
    return pairs


def parse(text):
    stages, global_args = [], {}
    for line in logical_lines(text):
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr not in KNOWN:
            raise SystemExit(f"image_test: unsupported Dockerfile instruction {instr}: extend the test")
        if instr == "ARG" and not stages:
            global_args.update(parse_kv(rest))
            continue
        if instr == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append({"base": substitute(m.group(1), global_args), "name": m.group(2),
                           "steps": []})
            continue
        stages[-1]["steps"].append((instr, rest))
    return stages


def apt_packages(cmd):
    """Packages of the `apt-get install` in a RUN command."""
    pkgs = []
    for part in re.split(r"&&|;", cmd):
        words = shlex.split(part)
        if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
            after = words[words.index("install") + 1:]
            pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def ignored(rel, patterns):
    for p in patterns:
        if p.startswith("**/"):
            if fnmatch.fnmatch(os.path.basename(rel), p[3:]):
                return True
        elif rel == p or rel.startswith(p + "/") or fnmatch.fnmatch(rel.split("/")[0], p) and "/" not in p:
            return True
    return False


def copy_context(dst):
    patterns = [line.strip() for line in open(IGNORE) if line.strip() and not line.startswith("#")]
    for top, dirs, files in os.walk(dl.REPO):
        rel_top = os.path.relpath(top, dl.REPO)
        rel_top = "" if rel_top == "." else rel_top
        dirs[:] = [d for d in dirs if not ignored(os.path.join(rel_top, d), patterns)]
        for f in files:
            rel = os.path.join(rel_top, f)
            if ignored(rel, patterns):
                continue
            os.makedirs(os.path.join(dst, rel_top), exist_ok=True)
            shutil.copy2(os.path.join(top, f), os.path.join(dst, rel), follow_symlinks=False)


def setup_packages():
    r = subprocess.run([os.path.join(dl.REPO, "scripts", "setup.sh"), "--list", "--profile", "all"],
                       capture_output=True, text=True, check=True)
    return set(r.stdout.split())


def apt_exists(pkgs):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs], capture_output=True, text=True)
    found = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
    return found


def elf_packages(paths):
    libs = set()
    for p in paths:
        out = subprocess.run(["ldd", p], capture_output=True, text=True).stdout
        for m in re.finditer(r"=>\s+(\S+)\s+\(", out):
            libs.add(m.group(1))
    owners, unknown = set(), []
    for lib in sorted(libs):
        r = subprocess.run(["dpkg", "-S", os.path.realpath(lib)], capture_output=True, text=True)
        if r.returncode != 0:
            r = subprocess.run(["dpkg", "-S", lib], capture_output=True, text=True)
        if r.returncode != 0:
            unknown.append(lib)
            continue
        owners.add(r.stdout.split(":", 1)[0].strip())
    return owners, unknown


def main():
    t = dl.Failures()
    check_build_script(t)
    stages = parse(open(DOCKERFILE).read())
    t.check(len(stages) == 2 and stages[0]["name"] == "build", "two stages, the first named build")
    t.check(stages[0]["base"] == "debian:12", f"build stage on debian:12 ({stages[0]['base']})")
    t.check(stages[1]["base"] == "debian:12-slim", f"runtime stage on debian:12-slim ({stages[1]['base']})")

    work = tempfile.mkdtemp(prefix="dfaas-image-")
    keep = os.environ.get("DFAAS_IMAGE_TEST_KEEP")
    try:
        fs = {}  # stage name/index -> directory standing for its /
        setup = setup_packages()
        installed = {}
        entrypoint = None
        exposed = []
        for i, st in enumerate(stages):
            root = os.path.join(work, f"stage{i}")
            os.makedirs(root)
            fs[str(i)] = root
            if st["name"]:
                fs[st["name"]] = root
            shell = ["/bin/sh", "-c"]
            env, args = {}, {}
            cwd = root

            def cpath(p, root=root):
                return os.path.join(root, p.lstrip("/"))

            for instr, rest in st["steps"]:
                variables = {**args, **env}
                if instr == "SHELL":
                    shell = json.loads(rest)
                elif instr == "ARG":
                    for k, v in parse_kv(rest).items():
                        args[k] = substitute(v or "", variables)
                elif instr == "ENV":
                    for k, v in parse_kv(rest).items():
                        env[k] = substitute(v, variables)
                elif instr == "WORKDIR":
                    cwd = cpath(substitute(rest, variables))
                    os.makedirs(cwd, exist_ok=True)
                elif instr == "COPY":
                    words = shlex.split(substitute(rest, variables))
                    src_stage = None
                    if words[0].startswith("--from="):
                        src_stage = words.pop(0).split("=", 1)[1]
                    src, dst = words[0], words[1]
                    if src_stage is None:
                        t.check(src == ".", f"stage {i}: COPY of the whole context ({src} -> {dst})")
                        copy_context(cpath(dst))
                    else:
                        shutil.copytree(os.path.join(fs[src_stage], src.lstrip("/")), cpath(dst),
                                        dirs_exist_ok=True, symlinks=True)
                elif instr == "RUN":
                    cmd = substitute(rest, {}) if False else rest
                    pkgs = apt_packages(cmd)
                    if pkgs:
                        installed[i] = pkgs
                        found = apt_exists(pkgs)
                        t.check(set(pkgs) <= found, f"stage {i}: apt packages exist in the archive "
                                f"({sorted(set(pkgs) - found)} missing)")
                        if i == 0:
                            t.check(set(pkgs) <= setup, f"stage {i}: build packages are among scripts/setup.sh's "
                                    f"({sorted(set(pkgs) - setup)} not)")
                        continue
                    # Container paths held by ENV map into the stage's directory.
                    run_env = dict(os.environ)
                    for k, v in args.items():
                        run_env[k] = v
                    for k, v in env.items():
                        run_env[k] = cpath(v) if v.startswith("/") and k.startswith("DFAAS_") else v
                    if not os.environ.get("DFAAS_IMAGE_TEST_FULL"):
                        run_env["DFAAS_PREBUILT"] = dl.build_dir()
                    r = subprocess.run(shell + [cmd], cwd=cwd, env=run_env, capture_output=True, text=True)
                    t.check(r.returncode == 0, f"stage {i}: RUN {cmd[:90]}..."
                            + ("" if r.returncode == 0 else "\n" + r.stdout[-2000:] + r.stderr[-3000:]))
                    if r.returncode:
                        t.finish()
                elif instr == "ENTRYPOINT":
                    entrypoint = json.loads(rest)
                elif instr == "EXPOSE":
                    exposed += [int(p.split("/")[0]) for p in rest.split()]

        image = fs[str(len(stages) - 1)]
        t.check(entrypoint is not None and entrypoint[0] == dl.ENTRYPOINT, f"ENTRYPOINT {entrypoint}")
        ep = os.path.join(image, dl.ENTRYPOINT.lstrip("/"))
        t.check(os.access(ep, os.X_OK), "the entrypoint is in the image and executable")
        shebang = open(ep).readline().strip()
        t.check(shebang in ("#!/bin/bash", "#!/bin/sh"), f"entrypoint interpreter {shebang} is in the base image")
        bins = [os.path.join(image, "usr/local/bin", b) for b in ("dfaas-agent", "dfaasctl")]
        for b in bins:
            t.check(os.access(b, os.X_OK), f"{os.path.relpath(b, image)} staged")
        r = subprocess.run([bins[0], "--version"], capture_output=True, text=True)
        t.check(r.returncode == 0 and r.stdout.startswith("dfaas-agent "), f"the staged agent runs ({r.stdout.strip()})")
        objs = [f for f in os.listdir(os.path.join(image, "usr/lib/dfaas/bpf")) if f.endswith(".bpf.o")]
        t.check(bool(objs), f"BPF objects staged ({objs})")
        for o in objs:
            out = subprocess.run(["file", "-b", os.path.join(image, "usr/lib/dfaas/bpf", o)],
                                 capture_output=True, text=True).stdout if shutil.which("file") else "eBPF"
            t.check("eBPF" in out or "ELF" in out, f"{o} is an eBPF ELF object")
        runtime = set(installed.get(len(stages) - 1, []))
        owners, unknown = elf_packages(bins)
        t.check(not unknown, f"every library the binaries load belongs to a Debian package ({unknown})")
        missing = sorted(owners - runtime - BASE_PACKAGES)
        t.check(not missing, f"the runtime stage installs every library package the binaries need ({missing} missing)")
        t.check({"bpftool", "iproute2"} <= runtime, "bpftool and iproute2 in the image")
        values = dl.load_values()["config"]
        want = {dl.port_of(values["api"]["listen"]), int(values["peers"]["listen_port"])}
        t.check(set(exposed) == want, f"EXPOSE {sorted(exposed)} = the chart's API and peer ports {sorted(want)}")
        cfg_dirs = ["etc/dfaas", "var/lib/dfaas"]
        t.check(all(os.path.isdir(os.path.join(image, d)) for d in cfg_dirs), "mount points /etc/dfaas and /var/lib/dfaas exist")
    finally:
        if keep:
            print(f"scratch kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    t.finish()


if __name__ == "__main__":
    main()
