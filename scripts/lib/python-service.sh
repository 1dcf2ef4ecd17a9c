# Shared by scripts that drive a crm-metrics service with Python gRPC clients (sourced, not run):
# a pinned grpcio venv, Python stubs of the contract, and a service on a loopback port with its
# own embedded PostgreSQL, stopped and removed on exit.

grpc_version=1.71.0
venv=.ci/.tools/python

# The venv with grpcio, grpcio-status and grpcio-tools at $grpc_version (installed when needed).
python_venv() {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  local packages=(grpcio grpcio-status grpcio-tools)
  if ! "$venv/bin/python" -c 'import sys, importlib.metadata as m; sys.exit(any(m.version(p) != sys.argv[1] for p in sys.argv[2:]))' "$grpc_version" "${packages[@]}" 2>/dev/null; then
    echo "$script_name: installing ${packages[*]} $grpc_version"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${packages[@]/%/==$grpc_version}"
  fi
}

# Python stubs of proto/ into $stubs (grpc_tools bundles the google/protobuf imports).
python_stubs() {
  "$venv/bin/python" -m grpc_tools.protoc -Iproto --python_out="$stubs" --grpc_python_out="$stubs" \
    proto/crm/metrics/v1/*.proto
}

# A fresh path for a service's data, directly under /tmp: the embedded PostgreSQL runs as user
# postgres when started as root, and must traverse every parent directory (a checkout under a
# mktemp -d directory is mode 0700).
scratch_dir() { echo "/tmp/crm-metrics-$1-$$"; }

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts $binary on 127.0.0.1:$1 (its admin port on any free loopback port) with its embedded
# PostgreSQL under $2 (created by the service:
# as root its PostgreSQL runs as user postgres, which a mktemp -d directory would lock out), extra
# flags after; sets $service to its PID and waits (bounded) until it listens. The log goes to $3.
start_service() {
  local port=$1 data=$2 log=$3
  shift 3
  if port_open "$port"; then
    echo "$script_name: 127.0.0.1:$port is already in use" >&2
    exit 1
  fi
  rm -rf "$data"
  env -u DATABASE_URL "$binary" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 \
    --data-dir "$data" "$@" >"$log" 2>&1 &
  service=$!
  services+=("$service:$data")
  for second in $(seq 1 120); do
    if port_open "$port"; then return 0; fi
    if ! kill -0 "$service" 2>/dev/null || [ "$second" = 120 ]; then
      echo "$script_name: the service did not start listening on 127.0.0.1:$port; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 1
  done
}

# Stops every service this script started (by PID, if still running) and removes their data;
# on failure first shows the end of their logs; removes $stubs.
stop_services() {
  local status=$? entry log
  if [ "$status" != 0 ]; then
    for log in "$stubs"/*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  for entry in ${services[@]+"${services[@]}"}; do
    if kill -0 "${entry%%:*}" 2>/dev/null; then
      kill -TERM "${entry%%:*}" 2>/dev/null || true
    fi
    wait "${entry%%:*}" 2>/dev/null || true
    rm -rf "${entry#*:}"
  done
  rm -rf "$stubs"
}

services=()
stubs=$(mktemp -d)
trap stop_services EXIT
trap "exit 130" INT
trap "exit 143" TERM
