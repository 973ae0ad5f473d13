FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY adapters ./adapters
COPY emulators ./emulators
RUN pip install --disable-pip-version-check . \
    && useradd --create-home --uid 10001 threadbridge \
    && mkdir -p /data && chown threadbridge /data
USER threadbridge
ENV BRIDGE_DATA_DIR=/data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"BRIDGE_HTTP_PORT\",\"3000\")}/healthz')"
ENTRYPOINT ["threadbridge", "run"]
