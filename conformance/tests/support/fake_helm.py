"""A stand-in for the `helm` program, for testing the helm-binary engine where no helm exists.

It answers the two command lines the engine runs with the same Helm SDK (helm-python-sdk's
libhelm_c.so) and prints what helm prints: `install NAME CHART --namespace NS --dry-run=client
--output json --values FILE` prints the release as JSON (manifest with `# Source:` headers,
hooks, info.notes); `lint CHART --strict --namespace NS --values FILE` prints `[LEVEL] path: text`
lines. Errors go to stderr as `Error: ...` with exit status 1, like helm.
"""
import json
import sys

import helm_python as helm

LEVELS = {0: "INFO", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def option(args, name):
    return args[args.index(name) + 1]


def install(args):
    name, chart = args[1], args[2]
    values = json.load(open(option(args, "--values")))
    try:
        files = helm.Chart.load(chart).render(values, name=name, namespace=option(args, "--namespace"))
    except helm.HelmError as e:
        sys.stderr.write(f"Error: INSTALLATION FAILED: {e}\n")
        return 1
    manifest, hooks, notes = [], [], ""
    for path, text in sorted(files.items()):
        if path.endswith("/NOTES.txt"):
            notes = text
        elif "/templates/tests/" in path:
            hooks.append({"name": path, "kind": "Pod", "path": path, "manifest": text.strip(), "events": ["test"]})
        elif text.strip():
            manifest.append(f"---\n# Source: {path}\n{text.strip()}\n")
    print(json.dumps({"name": name, "info": {"notes": notes}, "manifest": "".join(manifest), "hooks": hooks}))
    return 0


def lint(args):
    values = json.load(open(option(args, "--values")))
    report = helm.lint(args[1], values, strict=True, namespace=option(args, "--namespace"))
    for m in report["messages"]:
        print(f"[{LEVELS[m['severity']]}] {m['path']}: {m['error'].strip()}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit({"install": install, "lint": lint}[argv[0]](argv))
