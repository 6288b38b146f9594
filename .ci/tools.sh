# Shared by the CI proofs that drive a running server: pinned tools kept in
# a cache directory, and a server started on a free port.
# shellcheck shell=bash

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${AUTHD_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authd-ci}"
mkdir -p "$cache"

# The cache key of some files: a new pin makes a new tool directory.
key_of() { cat "$@" | sha256sum | cut -c1-16; }

# A Python virtual environment with the pinned tools of .ci/requirements.txt;
# prints its directory. Marked ready only once every install succeeded (a
# failure inside `$(…)` does not stop the function by itself).
python_tools() {
  local venv
  venv="$cache/venv-$(key_of "$repo/.ci/requirements.txt")-$(python3 -V | tr -dc '0-9.')"
  if [ ! -e "$venv/.ready" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install -q -r "$repo/.ci/requirements.txt" >&2 || return 1
    touch "$venv/.ready"
  fi
  echo "$venv"
}

# The pinned npm packages of .ci/typescript, installed once from its lock
# file; prints the node_modules directory.
node_tools() {
  local dir
  dir="$cache/node-$(key_of "$repo/.ci/typescript/package.json" "$repo/.ci/typescript/package-lock.json")-$(node -v)"
  if [ ! -d "$dir" ]; then
    rm -rf "$dir.new"
    mkdir -p "$dir.new"
    cp "$repo/.ci/typescript/package.json" "$repo/.ci/typescript/package-lock.json" "$dir.new/"
    (cd "$dir.new" && npm ci --no-audit --no-fund --loglevel=error >&2) || { rm -rf "$dir.new"; return 1; }
    mv "$dir.new" "$dir"
  fi
  echo "$dir/node_modules"
}

# start_server DIR [NAME=VALUE…]: runs the debug binary in DIR (its data
# and mailbox go there) on a free port, with the given settings; sets
# $server_url and remembers the process for stop_servers.
server_pids=()
start_server() {
  local dir="$1" port=""
  shift
  mkdir -p "$dir"
  (cd "$dir" && exec env AUTHD__SERVER__BIND=127.0.0.1:0 "$@" \
    "${CARGO_TARGET_DIR:-$repo/target}/debug/authd" serve 2> "$dir/server.log") &
  server_pids+=($!)
  for _ in $(seq 1 100); do
    port=$(grep -o 'authd listening port=[0-9]*' "$dir/server.log" 2>/dev/null | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "ci: the server did not start" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
  server_url="http://127.0.0.1:$port"
}

stop_servers() {
  local pid
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  server_pids=()
}
