#!/usr/bin/env bash
# Starts Junction for local use on a fresh machine: fetches Node 24 and pnpm when needed,
# installs packages, makes sure PostgreSQL and Redis run on 127.0.0.1, then runs the API
# (http://127.0.0.1:8080, OpenAPI at /docs) and one worker until Ctrl-C.
#   ./scripts/start.sh            API + worker
#   ./scripts/start.sh api        the API alone      (also: pnpm start:api)
#   ./scripts/start.sh worker     one worker alone   (also: pnpm start:worker)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
role=${1:-all}
case $role in all|api|worker) ;; *) echo "usage: $0 [all|api|worker]" >&2; exit 2 ;; esac

pnpm install --frozen-lockfile --prefer-offline >/dev/null
bash test/peers/ensure-services.sh postgres redis

# A local install keeps its own secret key, so stored connections stay readable across restarts.
local_env="${XDG_CONFIG_HOME:-$HOME/.config}/junction/local.env"
if [ -z "${JUNCTION_SECRET_KEY:-}" ] && [ -z "${JUNCTION_SECRET_KEY_FILE:-}" ]; then
  if [ ! -f "$local_env" ]; then
    mkdir -p "$(dirname "$local_env")"
    (umask 077 && printf 'JUNCTION_SECRET_KEY=%s\n' "$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))")" >"$local_env")
    echo "[start] created a secret key for this machine in $local_env"
  fi
  set -a; . "$local_env"; set +a
fi

pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait || true; }
trap stop INT TERM

if [ "$role" != worker ]; then
  pnpm --filter @junction/api build >/dev/null
  node apps/api/dist/main.js &
  pids+=($!)
fi
if [ "$role" != api ]; then
  # isolated-vm needs --no-node-snapshot on Node 20 and later
  node --no-node-snapshot apps/worker/src/main.ts &
  pids+=($!)
fi
wait -n "${pids[@]}"
status=$?
stop
exit $status
