# threadbridge: one bridge process per container; scale out with more containers on one Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer changes only when they do. The
# image serves every messenger: the core's dependencies and every extra (`threadbridge[all]`).
COPY pyproject.toml constraints.txt ./
COPY scripts/requirements.py ./scripts/
RUN python scripts/requirements.py all > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The code, installed without touching the dependencies above.
COPY README.md ./
COPY bridge ./bridge
COPY adapters ./adapters
COPY providers ./providers
# deploy/slack-manifest.yml is the package's adapters/slack/slack-manifest.yml (a link to it).
COPY deploy ./deploy
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 threadbridge \
    && mkdir -p /data && chown threadbridge /data

USER threadbridge
ENV BRIDGE_DATA_DIR=/data BRIDGE_HTTP_PORT=3000
# Only used by the embedded Valkey (no REDIS_URL): keep it on a volume.
VOLUME ["/data"]
# `docker run --env-file` and `-e` override ENV, so a BRIDGE_DATA_DIR in .env beats the line
# above (and an empty one means the code's default, `.data`). Running in /data makes such a
# relative folder land on the volume, writable by this user, instead of the read-only /app.
WORKDIR /data
EXPOSE 3000
# Liveness: the process answers. (/readyz adds Redis, messengers and draining: the compose file
# and Kubernetes readiness probes use it.)
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_HTTP_PORT', '3000'), timeout=2)"
# `docker stop -t 30`: SIGTERM lets running replies finish (BRIDGE_SHUTDOWN_SECONDS, 20 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["threadbridge"]
CMD ["run"]
