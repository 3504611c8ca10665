#!/usr/bin/python3
"""Checks a chart's merged values against its values.schema.json (JSON Schema draft-07), as
`helm install`, `helm template` and `helm lint` do before rendering. deploy/render.sh runs it on
the values the renderer merged (dfaas-helm-render --print-values).

  check_values.py SCHEMA VALUES_JSON

Exit 0: valid. Exit 1: invalid; one line per problem on stderr, each naming the value's path
(e.g. "config.peers.listen_port: 70000 is greater than the maximum of 65535"), an unknown key
with the closest known one. Exit 77: python3-jsonschema is not installed (nothing checked).
"""
import difflib
import json
import sys

SKIP = 77


def dotted(path):
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def describe(error, schema):
    """One line for one validation error: where, and what is wrong."""
    where = dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        known = sorted((error.schema.get("properties") or {}).keys())
        extra = sorted(set(error.instance) - set(known)) if isinstance(error.instance, dict) else []
        lines = []
        for key in extra:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            path = f"{where}.{key}" if error.absolute_path else key
            lines.append(f"{path}: unknown key{hint}")
        return lines or [f"{where}: {error.message}"]
    if error.validator in ("anyOf", "oneOf") and error.context:
        # Say what the alternative of the value's own type wants (an integer's range, not "is
        # not of type string" or "should be empty").
        rank = {"minimum": 0, "maximum": 0, "exclusiveMinimum": 0, "enum": 1, "pattern": 2}
        fitting = [e for e in error.context if e.validator != "type" and
                   not (e.validator == "maxLength" and e.validator_value == 0)]
        if fitting:
            best = min(fitting, key=lambda e: rank.get(e.validator, 3))
            described = best.schema.get("description") or error.schema.get("description")
            if best.validator == "pattern" and described:
                return [f"{where}: {best.instance!r} is not valid here: {described}"]
            return [f"{where}: {best.message}"]
        if error.schema.get("description"):
            return [f"{where}: {error.instance!r} is not valid here: {error.schema['description']}"]
    if error.validator == "pattern" and error.schema.get("description"):
        return [f"{where}: {error.instance!r} is not valid here: {error.schema['description']}"]
    return [f"{where}: {error.message}"]


def main():
    if len(sys.argv) != 3:
        print("usage: check_values.py SCHEMA VALUES_JSON", file=sys.stderr)
        return 2
    try:
        import jsonschema
    except ImportError:
        print("values not checked against values.schema.json: python3-jsonschema is not installed",
              file=sys.stderr)
        return SKIP
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    with open(sys.argv[2]) as f:
        values = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    lines = [line for e in errors for line in describe(e, schema)]
    for line in lines:
        print(f"values.schema.json: {line}", file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
