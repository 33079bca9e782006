#!/usr/bin/env bash
# The maker's server (server/, softap-maker) against the simulator: its unit tests, then the
# scenarios on SQLite and on a throwaway PostgreSQL cluster that the tests start on a free
# port and stop (PostgreSQL's server comes from scripts/setup.sh: Debian's postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
source .tools/env
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
  echo "test-server: PostgreSQL's server is missing; run scripts/setup.sh (it installs Debian's postgresql)" >&2
  exit 1
fi
export SOFTAP_MAKER_PG_BIN="$pg_bin"
$CARGO test -p softap-maker
