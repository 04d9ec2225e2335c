#!/usr/bin/env bash
# Run the third-party-client conformance suites against live sfemu processes:
#   1. simple-salesforce (Python) over HTTPS (it only builds https:// URLs),
#   2. jsforce (Node) over plain HTTP, every check,
#   3. jsforce over HTTPS (NODE_EXTRA_CA_CERTS), the smoke subset,
#   4. Pub/Sub API with Python grpcio stubs generated from sfemu's .proto + avro, over h2c.
# Each suite gets its own fresh sfemu on a free loopback port, configured with a connected app
# that carries a throw-away certificate (generated here with openssl) for the JWT bearer grant.
# Needs conformance/setup.sh to have run. Exits non-zero if any suite failed.
#
# Env: SFEMU_BIN=path   use this sfemu binary instead of building one (debug profile by default:
#                       scripts/test.sh has just built the workspace in debug, so this is a
#                       short incremental build, where --release would recompile everything).
#      SFEMU_PROFILE=release   build with that cargo profile instead.
#      CONFORMANCE_ONLY=python|node|pubsub   run one client's suites.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
die() { echo "conformance/run.sh: $*" >&2; exit 1; }

[ -x "$here/.venv/bin/python" ] || die "no venv: run conformance/setup.sh first"
[ -d "$here/node/node_modules/jsforce" ] || die "no node_modules: run conformance/setup.sh first"
command -v openssl >/dev/null || die "the openssl CLI is needed to make the JWT test certificate"
command -v curl >/dev/null || die "curl is needed to wait for sfemu"

# --- build -------------------------------------------------------------------------------
if [ -n "${SFEMU_BIN:-}" ]; then
  bin="$SFEMU_BIN"
else
  profile="${SFEMU_PROFILE:-dev}"
  echo "conformance: building sfemu (cargo profile $profile)"
  bin="$(cd "$root" && cargo build -p sfemu --bin sfemu --profile "$profile" --message-format=json-render-diagnostics \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "sfemu":
        print(m["executable"])')" || die "cargo build -p sfemu failed"
fi
[ -x "$bin" ] || die "no sfemu binary at '$bin'"
echo "conformance: sfemu binary $bin"

# --- scratch space, cleanup ----------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/sfemu-conformance.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# JWT bearer: a key pair whose certificate the connected app carries.
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=sfemu-conformance" \
  -keyout "$work/jwt.key" -out "$work/jwt.crt" 2>/dev/null || die "openssl could not make the JWT certificate"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_sfemu NAME TLS(0|1) → sets $port, $base, $pem; the log is $work/NAME.log
start_sfemu() {
  local name="$1" tls="$2" cfg="$work/$1.toml" args=()
  port="$(free_port)"
  cat > "$cfg" <<EOF
# written by conformance/run.sh
[[org]]
name = "$name"
port = $port
# Pub/Sub suite: change events of Account, keepalive every second.
cdc_objects = ["Account"]
pubsub_keepalive_secs = 1

[[org.users]]
username = "admin@sfemu.test"
password = "sfemu"
first_name = "Ada"
last_name = "Admin"

# XML-special characters in the password and a security token: SOAP login escaping, token append.
[[org.users]]
username = "token@sfemu.test"
password = "p&ss<w>\"'d"
security_token = "TOKEN123"
last_name = "Token"

[[org.connected_apps]]
name = "conformance"
consumer_key = "sfemu-client"
consumer_secret = "sfemu-secret"
certificate = "jwt.crt"
run_as = "admin@sfemu.test"
EOF
  args=(--config "$cfg")
  pem="$work/$name-ca.pem"
  if [ "$tls" = 1 ]; then
    args+=(--tls --cert-out "$pem")
    base="https://127.0.0.1:$port"
  else
    base="http://127.0.0.1:$port"
  fi
  NO_COLOR=1 "$bin" "${args[@]}" > "$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local curl_tls=()
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "conformance: sfemu ($name) exited during start-up; its log:" >&2
      cat "$work/$name.log" >&2
      return 1
    fi
    if [ "$tls" = 1 ]; then curl_tls=(--cacert "$pem"); fi
    if { [ "$tls" = 0 ] || [ -s "$pem" ]; } &&
       curl -fsS "${curl_tls[@]}" -o /dev/null "$base/services/data/" 2>/dev/null; then
      echo "conformance: sfemu ($name) ready at $base"
      return 0
    fi
    sleep 0.1
  done
  echo "conformance: sfemu ($name) not ready after 30 s; its log:" >&2
  cat "$work/$name.log" >&2
  return 1
}

stop_sfemu() {
  local pid="${pids[-1]}"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'pids[-1]'
}

total_passed=0
total_failed=0
failed_suites=()

# run_suite LABEL LOGNAME -- command...
run_suite() {
  local label="$1" name="$2"; shift 3
  local out="$work/$name.out" status=0
  echo "== $label"
  "$@" 2>&1 | tee "$out" || status=$?   # pipefail: the suite's own status
  local tail_line p f
  tail_line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n1 || true)"
  if [ -n "$tail_line" ]; then
    p="${tail_line%% passed*}"; f="${tail_line#*passed, }"; f="${f%% failed*}"
    total_passed=$((total_passed + p)); total_failed=$((total_failed + f))
  else
    total_failed=$((total_failed + 1))
    echo "conformance: $label printed no closing line" >&2
  fi
  if [ "$status" != 0 ]; then
    failed_suites+=("$label")
    echo "-- sfemu log ($name), last 40 lines:"
    tail -n 40 "$work/$name.log" || true
  fi
}

only="${CONFORMANCE_ONLY:-}"

if [ -z "$only" ] || [ "$only" = python ]; then
  if start_sfemu python 1; then
    run_suite "simple-salesforce (python, https)" python -- \
      "$here/.venv/bin/python" "$here/python/conformance.py" --base-url "$base" --ca-file "$pem" \
      --jwt-key "$work/jwt.key"
  else
    failed_suites+=("simple-salesforce: sfemu did not start"); total_failed=$((total_failed + 1))
  fi
  stop_sfemu
fi

if [ -z "$only" ] || [ "$only" = node ]; then
  if start_sfemu node 0; then
    run_suite "jsforce (node, http)" node -- \
      node "$here/node/conformance.mjs" --base-url "$base" --jwt-key "$work/jwt.key"
  else
    failed_suites+=("jsforce: sfemu did not start"); total_failed=$((total_failed + 1))
  fi
  stop_sfemu
  if start_sfemu node-tls 1; then
    run_suite "jsforce (node, https, smoke)" node-tls -- \
      env NODE_EXTRA_CA_CERTS="$pem" node "$here/node/conformance.mjs" --base-url "$base" \
      --jwt-key "$work/jwt.key" --tag smoke
  else
    failed_suites+=("jsforce tls: sfemu did not start"); total_failed=$((total_failed + 1))
  fi
  stop_sfemu
fi

if [ -z "$only" ] || [ "$only" = pubsub ]; then
  if start_sfemu pubsub 0; then
    run_suite "pubsub (python grpcio + avro, h2c)" pubsub -- \
      "$here/.venv/bin/python" "$here/pubsub/conformance.py" --base-url "$base"
  else
    failed_suites+=("pubsub: sfemu did not start"); total_failed=$((total_failed + 1))
  fi
  stop_sfemu
fi

echo
if [ "${#failed_suites[@]}" -gt 0 ]; then
  echo "conformance: FAILED: ${failed_suites[*]}"
fi
echo "conformance: $total_passed passed, $total_failed failed"
[ "${#failed_suites[@]}" -eq 0 ]
