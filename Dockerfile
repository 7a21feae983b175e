# One image for all four implementations; IMPL picks one (fastapi, litestar, flask, drf).
#   docker build -t quartet .
#   docker run --rm -p 8000:8000 -e IMPL=litestar quartet    # embedded PostgreSQL, demo data
# docker-compose.yml runs it over a PostgreSQL service (README, "Docker").
#
# Needs BuildKit (the default builder since Docker 23) for the cache and secret mounts.

# The base is an argument so it can be swapped (a mirror, a pinned digest, a local stand-in):
# any Debian-based image with Python >= 3.12 as `python3`, with pip.
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# The virtualenv is what the runtime stage copies: no compilers, caches or pip in it.
RUN python3 -m venv --without-pip /opt/quartet
WORKDIR /src
# Dependencies first, from pyproject.toml alone: this layer survives code edits and is rebuilt
# only when the dependencies change.
# Optional build secrets, never stored in a layer: pip_conf (a pip.conf, e.g. an index with
# credentials) and ca_bundle (the CA bundle of a TLS-intercepting proxy), e.g.
#   docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt .
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip_conf,target=/etc/pip.conf \
    --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
    && python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
        > /tmp/requirements.txt \
    && python3 -m pip --python /opt/quartet/bin/python install -r /tmp/requirements.txt
COPY README.md ./
COPY shared/ shared/
COPY impl_fastapi/ impl_fastapi/
COPY impl_litestar/ impl_litestar/
COPY impl_flask/ impl_flask/
COPY impl_drf/ impl_drf/
# The project itself (its dependencies are in the layer above); setuptools comes from the index.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip_conf,target=/etc/pip.conf \
    --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
    && python3 -m pip --python /opt/quartet/bin/python install --no-deps .

FROM ${PYTHON_IMAGE}
# An unprivileged user with a home: without DATABASE_URL, `quartet serve` keeps its embedded
# PostgreSQL's data there.
RUN useradd --system --user-group --create-home --uid 10001 quartet
COPY --from=build /opt/quartet /opt/quartet
ENV PATH=/opt/quartet/bin:$PATH PYTHONUNBUFFERED=1 IMPL=fastapi
USER 10001:10001
WORKDIR /home/quartet
EXPOSE 8000
# /healthz answers without the database (SPEC §9): this says the server is up, /readyz would
# say the database is reachable too.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# exec: quartet is PID 1's only child under `init`, or PID 1 itself, and gets SIGTERM directly.
CMD ["/bin/sh", "-c", "exec quartet serve \"$IMPL\" --host 0.0.0.0"]
