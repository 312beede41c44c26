# Services the tests need beyond the app itself, each on loopback in a temporary
# directory, stopped when the calling script exits. Sourced after lib.sh.

SERVICES_DIR=""
stop_services() {
  [ -n "$SERVICES_DIR" ] || return 0
  if [ -f "$SERVICES_DIR/pg/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$SERVICES_DIR"
}

# PostgreSQL refuses to run as root: as root, it runs as Debian's `postgres` user.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# What the several-node tests need: PostgreSQL, started here, and NATS, which each test
# starts on a port of its own (tests/support/cluster.rs).
setup_services() {
  apt_install nats-server
  start_postgres
}

# Debian's PostgreSQL in a fresh data directory, trusting loopback only; exports
# NATTER_TEST_POSTGRES, the URL the store tests make their databases through.
start_postgres() {
  apt_install postgresql postgresql-contrib
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  local port="${NATTER_PG_PORT:-54329}"
  [ -n "$SERVICES_DIR" ] || { SERVICES_DIR="$(mktemp -d /tmp/natter-services.XXXXXX)"; trap stop_services EXIT; }
  chmod 755 "$SERVICES_DIR"
  mkdir -p "$SERVICES_DIR/pg"
  [ "$(id -u)" -ne 0 ] || chown postgres "$SERVICES_DIR/pg"
  say "PostgreSQL on 127.0.0.1:$port ($SERVICES_DIR/pg)"
  as_postgres "$PG_BIN/initdb" -D "$SERVICES_DIR/pg" -U natter --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # Many test databases at once, each a pool of a few connections.
  as_postgres "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -l "$SERVICES_DIR/pg/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $SERVICES_DIR/pg -c max_connections=400" start >/dev/null
  export NATTER_TEST_POSTGRES="postgres://natter@127.0.0.1:$port/postgres"
}
