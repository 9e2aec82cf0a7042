#!/usr/bin/env bash
# The docker-compose.yml topology without Docker, end to end (make integration):
#   PostgreSQL (Debian packages) on 127.0.0.1 → `prefect server start` against it →
#   a `process` work pool + worker → the deployments of prefect.yaml registered →
#   a run of the pipeline deployment triggered through the API exactly as the UI does →
#   its completion, the report and its artifacts checked → (optional) UI screenshots.
# Everything it starts is stopped by pid when it exits (trap), whatever the outcome.
#
# Environment:
#   VENV_BIN      python/prefect to use (default: .venv/bin of the checkout)
#   PROFILE       config profile of the triggered run (default: tiny)
#   RUN_TIMEOUT   seconds to wait for the run (default: 420)
#   SCREENSHOTS   1 = capture the Prefect UI into docs/screenshots/ (needs chromium)
#   KEEP_WORK     1 = keep the temporary folder (logs, database, data) for inspection
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
PROFILE=${PROFILE:-tiny}
RUN_TIMEOUT=${RUN_TIMEOUT:-420}
WORK=$(mktemp -d /tmp/moodrec-integration.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PGDATA="$WORK/pg"
T0=$(date +%s)

log() { printf '[integration %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }

cleanup() {
  local rc=$?
  set +e
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]}
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
  done
  if [[ -f "$PGDATA/postmaster.pid" ]]; then
    pgpid=$(head -n 1 "$PGDATA/postmaster.pid")
    kill -INT "$pgpid" 2>/dev/null  # "fast" shutdown of the postmaster we started
    for _ in $(seq 1 20); do kill -0 "$pgpid" 2>/dev/null || break; sleep 0.5; done
  fi
  if [[ ${KEEP_WORK:-0} == 1 || $rc != 0 ]]; then
    log "logs and data kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  log "exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$VENV_BIN/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {  # url seconds
  local url=$1 deadline=$(($(date +%s) + $2))
  until "$VENV_BIN/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=3)" "$url" 2>/dev/null; do
    (($(date +%s) < deadline)) || { log "timed out waiting for $url"; return 1; }
    sleep 1
  done
}

# --- 1. PostgreSQL from Debian packages ----------------------------------------------------
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z $PG_BIN ]] && ! command -v pg_ctl >/dev/null; then
  log "installing postgresql (apt-get)"
  apt-get install -y postgresql >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
PG_BIN=${PG_BIN:-$(dirname "$(command -v pg_ctl)")}
AS_PG=()
if [[ $(id -u) == 0 ]]; then
  # initdb/postgres refuse to run as root: run them as the Debian "postgres" user
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  AS_PG=(runuser -u postgres --)
fi
PGPORT=$(free_port)
PGPASS=$("$VENV_BIN/python" -c 'import secrets; print(secrets.token_hex(16))')
mkdir -p "$PGDATA" "$WORK/pgrun"
printf '%s\n' "$PGPASS" >"$WORK/pwfile"
[[ ${#AS_PG[@]} -gt 0 ]] && chown postgres "$PGDATA" "$WORK/pgrun" "$WORK/pwfile"
chmod 700 "$PGDATA"
log "initdb + postgres on 127.0.0.1:$PGPORT"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA" -U prefect --pwfile="$WORK/pwfile" \
  --auth-host=scram-sha-256 --auth-local=peer >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log"; exit 1; }
rm -f "$WORK/pwfile"
# pgrun/ (socket, log) belongs to the user the server runs as
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/pgrun/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK/pgrun" start >/dev/null
PGPASSWORD=$PGPASS "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U prefect prefect

# --- 2. Prefect server against Postgres ----------------------------------------------------
export PREFECT_HOME="$WORK/prefect-home"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
API_PORT=$(free_port)
export PREFECT_API_URL="http://127.0.0.1:$API_PORT/api"
log "prefect server on $PREFECT_API_URL"
PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://prefect:$PGPASS@127.0.0.1:$PGPORT/prefect" \
  "$VENV_BIN/prefect" server start --host 127.0.0.1 --port "$API_PORT" >"$WORK/server.log" 2>&1 &
PIDS+=($!)
wait_http "$PREFECT_API_URL/health" 240

# --- 3. process work pool, deployments, worker ---------------------------------------------
cd "$ROOT"
"$VENV_BIN/prefect" work-pool create moodrec-process --type process --overwrite >"$WORK/pool.log"
log "registering the deployments of prefect.yaml"
MOODREC_HOME="$ROOT" "$VENV_BIN/prefect" --no-prompt deploy --all >"$WORK/deploy.log" 2>&1 \
  || { cat "$WORK/deploy.log"; exit 1; }
log "process worker"
PATH="$VENV_BIN:$PATH" "$VENV_BIN/prefect" worker start --pool moodrec-process --type process \
  >"$WORK/worker.log" 2>&1 &
PIDS+=($!)

# --- 4. trigger a run as the UI does, wait, check completion + artifacts -------------------
log "triggering moodrec-pipeline ($PROFILE) through the API"
"$VENV_BIN/python" "$ROOT/scripts/integration_check.py" --profile "$PROFILE" \
  --data-dir "$WORK/data" --timeout "$RUN_TIMEOUT" --out "$WORK/run.json"

# --- 5. screenshots of the UI --------------------------------------------------------------
if [[ ${SCREENSHOTS:-0} == 1 ]]; then
  log "screenshots of the Prefect UI"
  "$VENV_BIN/python" "$ROOT/scripts/screenshot_ui.py" --run-json "$WORK/run.json" \
    --out "$ROOT/docs/screenshots"
fi
log "integration passed"
