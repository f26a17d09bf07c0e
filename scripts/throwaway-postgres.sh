#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free loopback port for the store suite and
# prints `URL DATA_DIR`; `scripts/throwaway-postgres.sh stop DATA_DIR` stops and removes it.
# Uses Debian's `postgresql` binaries; as root the server runs as the `postgres` user
# (initdb refuses root).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $bin/initdb ]] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_owner=()
[[ $(id -u) -eq 0 ]] && as_owner=(runuser -u postgres --)

if [[ ${1:-} == stop ]]; then
  dir=$2
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

dir=$(mktemp -d /tmp/appliance-postgres.XXXXXX)
chmod 755 "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U appliance -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://appliance@127.0.0.1:$port/postgres $dir"
