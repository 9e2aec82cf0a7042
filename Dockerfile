# syntax=docker/dockerfile:1
# moodrec worker image: the package, CPU-only torch, Prefect (version pinned by pyproject.toml)
# and prefect-dask. Two stages: wheels are built/installed in "build", "runtime" only copies
# the finished virtual environment (no compilers, no pip caches).

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# CPU build of torch first, from PyTorch's CPU index: the default index pulls a multi-GB CUDA
# build. The version is the one pyproject.toml pins.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
# dependencies first, from pyproject.toml alone: this layer is reused while only the code
# changes; the package itself is installed after, without dependencies (seconds)
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt "prefect-dask==0.3.7"
COPY README.md LICENSE ./
COPY src ./src
RUN pip install --no-deps .

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# libgomp: OpenMP for torch / scikit-learn / gensim; tini: signal handling for the worker
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 moodrec
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MOODREC_HOME=/app \
    MOODREC_CONFIG_DIR=/app/config \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_LOGGING_EXTRA_LOGGERS=moodrec \
    PREFECT_HOME=/app/.prefect
WORKDIR /app
# prefect.yaml entrypoints are file paths relative to /app: ship the sources beside the
# installed package (the same code), the profiles and the deployment file
COPY --chown=moodrec:moodrec config ./config
COPY --chown=moodrec:moodrec src ./src
COPY --chown=moodrec:moodrec prefect.yaml ./prefect.yaml
RUN mkdir -p /app/data /app/benchmarks/results /app/.prefect \
    && chown -R moodrec:moodrec /app/data /app/benchmarks /app/.prefect
USER moodrec
VOLUME ["/app/data", "/app/benchmarks/results"]
# the worker's own health server (prefect worker start --with-healthcheck) answers on 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"
ENTRYPOINT ["tini", "--"]
CMD ["prefect", "worker", "start", "--pool", "moodrec-process", "--type", "process", "--with-healthcheck"]
