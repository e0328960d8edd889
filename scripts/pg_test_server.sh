#!/usr/bin/env bash
# Throw-away PostgreSQL server for the test suite.
#
#   scripts/pg_test_server.sh start    # install/initdb/start if needed, print the URL
#   scripts/pg_test_server.sh url      # print the URL of the running server
#   scripts/pg_test_server.sh stop     # stop it (the data is kept for the next start)
#   scripts/pg_test_server.sh destroy  # stop it and delete the cluster (used by `make clean`)
#
# The URL (stdout, one line) looks like
#   postgresql+psycopg://attendance@127.0.0.1:55432/attendance_test
# Everything else goes to stderr, so `url=$(scripts/pg_test_server.sh start)` works.
#
# If ATTENDANCE_TEST_POSTGRES_URL is already set, start/url just print it: the
# caller brought its own server and we touch nothing.
#
# The cluster is private to this checkout: trust auth, TCP on 127.0.0.1 only,
# no unix socket, fsync off.  Never use it for anything but tests.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEFAULT_PORT=55432
ROLE=attendance
DB=${PG_TEST_DATABASE:-attendance_test}  # make bench uses attendance_bench, which it empties

log() { echo "pg_test_server: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# PostgreSQL refuses to run as root, so as root everything server-side runs as
# the `postgres` OS user (created by the Debian package).  As a normal user we
# simply run as ourselves.  We cd to / first: the server user may not be able
# to read the caller's working directory.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# --- where the PostgreSQL binaries are --------------------------------------

find_bindir() {
    local d
    # 1. pg_ctl + initdb on PATH (follow symlinks so psql etc. come from the same install)
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
        [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    fi
    # 2. Debian keeps them off PATH in /usr/lib/postgresql/<major>/bin; take the newest.
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
    done
    return 1
}

install_postgresql() {
    local sudo=""
    if ! is_root; then
        if ! { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; then
            die "PostgreSQL is not installed and we are not root (and have no passwordless sudo).
  Install it (apt-get install postgresql) or set ATTENDANCE_TEST_POSTGRES_URL."
        fi
        sudo="sudo -n"
    fi
    log "PostgreSQL not found; installing the Debian package (this takes a few minutes)..."
    # Don't let the package create (and auto-start, now and at every boot) the
    # system "main" cluster: we only want the binaries.  postgresql-common reads
    # this drop-in from createcluster.conf's include_dir.
    $sudo mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = off" \
        | $sudo tee /etc/postgresql-common/createcluster.d/attendance-no-main-cluster.conf >/dev/null
    # Lock timeout: on a freshly booted CI VM unattended-upgrades may hold the apt lock.
    $sudo apt-get -o DPkg::Lock::Timeout=600 update >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y --no-install-recommends postgresql >&2
}

# --- where the cluster lives -------------------------------------------------

# Normally $REPO/.pgtest (gitignored).  As root the files must belong to the
# postgres user, which then needs to traverse every parent directory of the
# repo; if it can't (e.g. a clone under /root), use a per-checkout directory in
# /tmp instead, rather than loosening permissions on the user's directories.
# ATTENDANCE_PGTEST_DIR overrides both.
cluster_dir() {
    if [ -n "${ATTENDANCE_PGTEST_DIR:-}" ]; then
        echo "$ATTENDANCE_PGTEST_DIR"
    elif ! is_root || runuser -u postgres -- test -x "$REPO" 2>/dev/null; then
        echo "$REPO/.pgtest"
    else
        echo "/tmp/attendance-pgtest-$(echo -n "$REPO" | sha1sum | cut -c1-12)"
    fi
}

DIR=$(cluster_dir)
DATA="$DIR/data"

is_running() {
    [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

running_port() { sed -n 4p "$DATA/postmaster.pid"; }   # line 4 of postmaster.pid is the port

url_for() { echo "postgresql+psycopg://$ROLE@127.0.0.1:$1/$DB"; }

# Something already accepts connections on 127.0.0.1:$1?  (bash built-in, no ss/netstat needed)
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Serialise concurrent start/stop calls from the same checkout.
lock() {
    mkdir -p "$DIR"
    exec 9>>"$DIR/lock"
    flock 9
}

init_cluster() {
    local major
    major=$("$BIN/pg_ctl" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/')   # "pg_ctl (PostgreSQL) 15.8" -> 15
    if [ -d "$DATA" ] && [ "$(cat "$DATA/PG_VERSION" 2>/dev/null)" != "$major" ]; then
        log "discarding unusable cluster in $DATA (half-initialised or another PostgreSQL version)"
        as_pg "$BIN/pg_ctl" stop -D "$DATA" -m immediate >/dev/null 2>&1 || true
        rm -rf "$DATA"
    fi
    [ -f "$DATA/PG_VERSION" ] && return 0

    log "creating a throw-away cluster in $DATA"
    if is_root; then
        chown postgres:postgres "$DIR" "$DIR/lock"
        chmod 700 "$DIR"
    fi
    # The bootstrap superuser is named $ROLE, so no separate CREATE ROLE is needed.
    # C.UTF-8 always exists on Debian (no locales package needed) and still
    # handles Vietnamese text correctly.
    as_pg "$BIN/initdb" -D "$DATA" -U "$ROLE" --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
        || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }

    # Root may write these files: they stay owned by postgres.
    cat >>"$DATA/postgresql.conf" <<'EOF'

# --- attendance test server (scripts/pg_test_server.sh) ---
listen_addresses = '127.0.0.1'
# TCP only: no socket in /var/run/postgresql (may not exist or not be
# writable) and no unix-socket path length limit to hit.
unix_socket_directories = ''
# Durability is pointless for a throw-away test database; this makes it fast.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    echo "host all all 127.0.0.1/32 trust" >"$DATA/pg_hba.conf"
}

start() {
    if [ -n "${ATTENDANCE_TEST_POSTGRES_URL:-}" ]; then
        echo "$ATTENDANCE_TEST_POSTGRES_URL"
        return 0
    fi
    BIN=$(find_bindir) || { install_postgresql; BIN=$(find_bindir) || die "no pg_ctl after installing postgresql"; }
    if is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' OS user to run the server as"
        # The postgres user may not exist before the install above: recompute.
        DIR=$(cluster_dir); DATA="$DIR/data"
    fi
    lock
    init_cluster

    local port
    if is_running; then
        port=$(running_port)
        log "already running on port $port ($DATA)"
    else
        port=$DEFAULT_PORT
        while port_busy "$port"; do
            port=$((port + 1))
            [ "$port" -lt $((DEFAULT_PORT + 100)) ] || die "no free port in $DEFAULT_PORT..$port"
        done
        log "starting on port $port ($DATA, log: $DIR/server.log)"
        # 9>&-: the server must not inherit (and hold forever) our lock.
        as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$DIR/server.log" -w -t 60 -o "-p $port" >/dev/null 9>&- \
            || { tail -n 30 "$DIR/server.log" >&2; die "server did not start"; }
    fi

    # pg_ctl -w already waited for "ready"; double-check over TCP like the tests will connect.
    local i
    for i in $(seq 1 30); do
        "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
        [ "$i" = 30 ] && die "server on port $port does not accept connections"
        sleep 1
    done

    # (Re)create the test database if missing: cheap, and survives a manual DROP.
    local psql=("$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres)
    if [ -z "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
        "${psql[@]}" -c "CREATE DATABASE $DB" >&2
    fi
    url_for "$port"
}

url() {
    if [ -n "${ATTENDANCE_TEST_POSTGRES_URL:-}" ]; then
        echo "$ATTENDANCE_TEST_POSTGRES_URL"
        return 0
    fi
    BIN=$(find_bindir) || die "PostgreSQL is not installed; run '$0 start'"
    is_running || die "the test server is not running; run '$0 start'"
    url_for "$(running_port)"
}

stop() {
    # Only ever stops our own cluster, never a server given by ATTENDANCE_TEST_POSTGRES_URL.
    [ -f "$DATA/PG_VERSION" ] || { log "no cluster in $DIR"; return 0; }
    BIN=$(find_bindir) || { log "PostgreSQL binaries not found; nothing to stop"; return 0; }
    lock
    if is_running; then
        log "stopping the server in $DATA"
        as_pg "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    else
        log "not running"
    fi
}

destroy() {
    stop
    log "removing $DIR"
    rm -rf "$DIR"
}

case "${1:-}" in
    start | stop | url | destroy) "$1" ;;
    *) echo "usage: $0 start|stop|url|destroy" >&2; exit 2 ;;
esac
