#!/usr/bin/env bash
# THE test command of the project: every Rust test of the workspace, the Sync Monitor in a real
# browser (Playwright + Debian's chromium against `orgsync demo`, ~20 s), then the conformance
# suites (simple-salesforce and jsforce, unmodified, against a live sfemu). Fails fast, saying
# which step.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { echo; echo "==> $*"; }
fail() { echo; echo "scripts/test.sh: FAILED at: $*" >&2; exit 1; }

step "Rust tests (workspace)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-tests=warn || fail "cargo nextest run --workspace"
else
  echo "(cargo-nextest not found: using cargo test)"
  cargo test --workspace || fail "cargo test --workspace"
fi

step "Browser tests (Playwright driving chromium against orgsync demo)"
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null \
  || fail "chromium is missing (apt-get install chromium chromium-driver; .ci/run installs it)"
cargo build --bin orgsync || fail "cargo build --bin orgsync"
(cd tests/browser && npm ci --no-audit --no-fund --silent) || fail "npm ci in tests/browser"
node tests/browser/monitor.mjs || fail "tests/browser/monitor.mjs (the Sync Monitor in a browser)"

step "Conformance setup (venv + npm ci)"
conformance/setup.sh || fail "conformance/setup.sh"

step "Conformance suites (simple-salesforce, jsforce against sfemu)"
# run.sh's last line is the closing `conformance: N passed, N failed`; keep it last.
conformance/run.sh || fail "conformance/run.sh (see the FAIL lines above)"
