#!/usr/bin/env bash
# Local stand-ins for the official base images, for machines that reach the Debian archive and
# the Python package index but no container registry (nothing can be pulled). Builds, once:
#
#   quartet-standin/debian:bookworm      debootstrap --variant=minbase, then `docker import`
#   quartet-standin/python:3.12-slim     that + a Python 3.12 build copied in (Debian 12 ships
#                                        3.11 only), laid out like python:3.12-slim (/usr/local)
#   quartet-standin/postgres:15          that + Debian's postgresql (15, bookworm's only
#                                        version) + an entrypoint honouring the official image's
#                                        POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / PGDATA
#
# The real Dockerfile and docker-compose.yml name the official images; the docker test selects
# these through PYTHON_IMAGE and POSTGRES_IMAGE only. Prints those two assignments on stdout.
#
#   STANDIN_PYTHON_PREFIX  the Python 3.12 to copy (default: the base prefix of `python3`); it
#                          must be built for Debian 12's libraries (ldd checks it in the image)
#   STANDIN_DEBIAN_MIRROR  default: the first Debian archive apt is configured with
#   STANDIN_REBUILD=1      rebuild even if the images exist
set -euo pipefail

DEBIAN_IMAGE=quartet-standin/debian:bookworm
PYTHON_IMAGE=quartet-standin/python:3.12-slim
POSTGRES_IMAGE=quartet-standin/postgres:15

log() { printf 'standins: %s\n' "$*" >&2; }
have_image() { [ "${STANDIN_REBUILD:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

debian_mirror() {
    if [ -n "${STANDIN_DEBIAN_MIRROR:-}" ]; then echo "$STANDIN_DEBIAN_MIRROR"; return; fi
    local mirror
    mirror=$(grep -hs -E '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | head -n1 |
             awk '{print $2}')
    [ -n "$mirror" ] || mirror=$(grep -hs -E '^deb .*/debian/? ' /etc/apt/sources.list |
                                 head -n1 | awk '{print $2}')
    echo "${mirror:-http://deb.debian.org/debian}"
}

build_debian() {
    have_image "$DEBIAN_IMAGE" && return
    command -v debootstrap >/dev/null || { log "debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    local mirror root="$work/rootfs"
    mirror=$(debian_mirror)
    log "debootstrap bookworm from $mirror (about two minutes)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
    # Like the official debian image: the same archive for apt inside, no cached package lists.
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
        >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$root"
}

build_python() {
    have_image "$PYTHON_IMAGE" && return
    local prefix="${STANDIN_PYTHON_PREFIX:-$(python3 -c 'import sys; print(sys.base_prefix)')}"
    [ -x "$prefix/bin/python3.12" ] || { log "no python3.12 under $prefix (set STANDIN_PYTHON_PREFIX)"; exit 1; }
    log "python stand-in from $prefix"
    local ctx="$work/python"
    mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib"
    cp -a "$prefix/bin/python3.12" "$ctx/usr/local/bin/"
    cp -a "$prefix"/lib/libpython3* "$ctx/usr/local/lib/"
    [ -d "$prefix/include" ] && cp -a "$prefix/include" "$ctx/usr/local/"
    # The standard library without its tests, Tk and build files; of site-packages only pip,
    # as in python:3.12-slim.
    tar -C "$prefix/lib" -c \
        --exclude='python3.12/test' --exclude='python3.12/idlelib' \
        --exclude='python3.12/tkinter' --exclude='python3.12/turtledemo' \
        --exclude='python3.12/config-3.12-*' --exclude='python3.12/site-packages/*' \
        --exclude='_tkinter*.so' --exclude='__pycache__' python3.12 | tar -C "$ctx/usr/local/lib" -x
    cp -a "$prefix"/lib/python3.12/site-packages/pip \
          "$prefix"/lib/python3.12/site-packages/pip-*.dist-info \
          "$ctx/usr/local/lib/python3.12/site-packages/"
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
# The shared libraries CPython's extension modules link against (checked with ldd below).
RUN apt-get update && apt-get install -y --no-install-recommends \\
        ca-certificates netbase tzdata libbz2-1.0 libcrypt1 libexpat1 libffi8 liblzma5 \\
        libncursesw6 libnsl2 libreadline8 libsqlite3-0 libssl3 libuuid1 zlib1g \\
    && rm -rf /var/lib/apt/lists/*
COPY usr/ /usr/
RUN ldconfig \\
    && ln -s python3.12 /usr/local/bin/python3 && ln -s python3 /usr/local/bin/python \\
    && printf '#!/bin/sh\nexec /usr/local/bin/python3.12 -m pip "\$@"\n' >/usr/local/bin/pip \\
    && chmod +x /usr/local/bin/pip && ln -s pip /usr/local/bin/pip3 \\
    && ! { ldd /usr/local/bin/python3.12; \\
           find /usr/local/lib/python3.12/lib-dynload -name '*.so' -exec ldd {} +; } \\
         | grep 'not found' \\
    && python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, readline' \\
    && python3 -m pip --version
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["python3"]
DOCKERFILE
    docker build -q -t "$PYTHON_IMAGE" "$ctx" >/dev/null
}

build_postgres() {
    have_image "$POSTGRES_IMAGE" && return
    log "postgres stand-in"
    local ctx="$work/postgres"
    mkdir -p "$ctx"
    cat >"$ctx/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/bash
# What the official postgres image's entrypoint does, in small: on an empty PGDATA, initdb with
# POSTGRES_USER / POSTGRES_PASSWORD, create POSTGRES_DB, accept password logins from any host;
# then run the server as the postgres user.
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA
if [ "${1:-}" != postgres ]; then exec "$@"; fi
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s' "$POSTGRES_PASSWORD") \
        --encoding=UTF8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        pg_ctl --wait --silent --options="-c listen_addresses=''" start
        psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
             --set=db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
        pg_ctl --wait --silent --mode=fast stop
    fi
    echo "PostgreSQL init process complete; ready for start up." >&2
fi
exec "$@"
ENTRYPOINT
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \\
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:\$PATH PGDATA=/var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/
RUN chmod +x /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
DOCKERFILE
    docker build -q -t "$POSTGRES_IMAGE" "$ctx" >/dev/null
}

build_debian
build_python
build_postgres
echo "PYTHON_IMAGE=$PYTHON_IMAGE"
echo "POSTGRES_IMAGE=$POSTGRES_IMAGE"
