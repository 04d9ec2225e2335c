#!/usr/bin/env bash
# Install what the conformance suites need, idempotently: a Python venv with the pinned
# simple-salesforce and grpcio/avro (conformance/.venv) and the pinned jsforce (conformance/node/node_modules).
# Network: PyPI and the npm registry only. Re-running with unchanged pins does nothing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() { echo "conformance/setup.sh: $*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is missing"
command -v node >/dev/null || die "node is missing"
command -v npm >/dev/null || die "npm is missing"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "node >= 18 is needed (jsforce 3.10.16), found $(node --version)"

# --- Python: venv + exact pins -------------------------------------------------------------
req="python/requirements.txt"
stamp=".venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
  rm -rf .venv
  python3 -m venv .venv || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r "$req" \
    || die "pip install -r $req failed"
  echo "$want" > "$stamp"
fi
# Pub/Sub suite: grpcio + grpcio-tools (stubs from sfemu's .proto) + avro, same venv.
preq="pubsub/requirements.txt"
pstamp=".venv/.pubsub-requirements.sha256"
pwant="$(sha256sum "$preq" | cut -d' ' -f1)"
if [ "$(cat "$pstamp" 2>/dev/null)" != "$pwant" ]; then
  .venv/bin/python -m pip install --disable-pip-version-check --no-input -q -r "$preq" \
    || die "pip install -r $preq failed"
  echo "$pwant" > "$pstamp"
fi
.venv/bin/python -c 'import importlib.metadata as m, sys; print("simple-salesforce", m.version("simple-salesforce"), "grpcio", m.version("grpcio"), "avro", m.version("avro"), "python", sys.version.split()[0])'

# --- Node: npm ci from the committed lock --------------------------------------------------
cd node
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
nstamp="node_modules/.lock.sha256"
if [ "$(cat "$nstamp" 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed"
  echo "$lock_sum" > "$nstamp"
fi
echo "jsforce $(node -p 'require("jsforce/package.json").version') node $(node --version)"
