# Posting Monitor container: build a wheel, install it in a slim image, run as a non-root user.
# BASE_IMAGE: any Python 3.11+ image (a mirror or an internal base), e.g.
#   docker build --build-arg BASE_IMAGE=registry.example.com/python:3.11-slim .
# The default is the official slim image pinned by digest, so a build is the same build
# until the pin is moved on purpose (docker buildx imagetools inspect python:3.11-slim-bookworm).
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${BASE_IMAGE} AS build
WORKDIR /src
RUN pip install --no-cache-dir build==1.*
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY seeds ./seeds
RUN python -m build --wheel --outdir /dist

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MONITOR_DATA_DIR=/data \
    MONITOR_LOG_FORMAT=json
COPY --from=build /dist /dist
# Every dependency at the version in constraints.txt: the same image whenever it is built.
COPY constraints.txt /dist/constraints.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -c /dist/constraints.txt "$(ls /dist/*.whl)[postgres]" \
    && rm -rf /dist \
    && useradd --create-home --uid 10001 monitor \
    && mkdir -p /data /config && chown monitor:monitor /data
USER monitor
WORKDIR /home/monitor
# The SQLite database (default) and anything else the monitor keeps lives here.
VOLUME ["/data"]
# Mount a configuration at /config/monitor.toml and set MONITOR_CONFIG to use it.
# The dashboard and API, when web.listen is set (e.g. MONITOR_WEB__LISTEN=0.0.0.0:8080
# with MONITOR_WEB__TOKEN: beyond loopback a token is required).
EXPOSE 8080
HEALTHCHECK --interval=60s --timeout=10s --start-period=30s --retries=3 \
    CMD ["posting-monitor", "health", "--require-daemon"]
ENTRYPOINT ["posting-monitor"]
CMD ["run"]
