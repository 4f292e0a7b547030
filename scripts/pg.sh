# Helpers to run a throwaway PostgreSQL for tests and benchmarks. Source it, then call
# pg_start (sets PG_URL, PG_PORT, PG_DIR, PG_VERSION) and pg_stop.
# Installs PostgreSQL with apt-get when its binaries are missing (CI machines start clean).

pg_bin_dir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ]; then echo "$d"; fi
    done | sort -V | tail -n 1
}

pg_install() {
    if [ -z "$(pg_bin_dir)" ]; then
        echo "pg.sh: PostgreSQL binaries missing; installing with apt-get" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        else
            sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        fi
    fi
}

pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the PostgreSQL owner: `postgres` when we are root (postgres refuses root).
pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    pg_install
    local bin
    bin="$(pg_bin_dir)"
    PG_VERSION="$("$bin/postgres" --version | awk '{print $3}')"
    PG_DIR="$(mktemp -d /tmp/hoheit-pg.XXXXXX)"
    PG_PORT="$(pg_free_port)"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_DIR"; fi
    pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB ${PG_EXTRA_OPTS:-}" \
        start >/dev/null || { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_BIN="$bin"
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    export PG_URL PG_PORT PG_DIR PG_VERSION PG_BIN
}

pg_stop() {
    if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
        pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
    fi
}
