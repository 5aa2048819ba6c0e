# The NER service with the default models: docker build -t ner-service . && docker run -p 8000:8000 ner-service
#
# Build arguments:
#   BASE_IMAGE      a Debian-based image with python3 and venv (default: the public slim Python image)
#   TORCH_SOURCE    "index": the CPU build of torch from PyTorch's wheel index (default);
#                   "local": wheels placed in docker/wheels/ of the build context
#   PIP_CA_BUNDLE   a CA bundle in docker/ of the context for pip to trust (behind a TLS-intercepting proxy)
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG TORCH_SOURCE=index
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_CA_BUNDLE=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY docker/ /tmp/docker/
RUN python3 -m venv /opt/venv
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN if [ -n "${PIP_CA_BUNDLE}" ]; then export PIP_CERT="/tmp/docker/${PIP_CA_BUNDLE}"; fi; \
    if [ "${TORCH_SOURCE}" = "local" ]; then \
        /opt/venv/bin/pip install --find-links /tmp/docker/wheels "torch==2.13.0+cpu"; \
    else \
        /opt/venv/bin/pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0; \
    fi
COPY pyproject.toml README.md /src/
COPY ner /src/ner
COPY api /src/api
# The package, then away with torch's C++ headers and test binaries: not needed to run, 145 MB.
RUN if [ -n "${PIP_CA_BUNDLE}" ]; then export PIP_CERT="/tmp/docker/${PIP_CA_BUNDLE}"; fi; \
    /opt/venv/bin/pip install "/src[serve]" && rm -rf /src \
    && rm -rf /opt/venv/lib/python3*/site-packages/torch/include /opt/venv/lib/python3*/site-packages/torch/test
# Permissions are fixed here so that the final image holds the models once (a chmod there would copy them).
COPY models /models
RUN chmod -R a+rX,go-w /models

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
COPY --from=build /models /models
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ner
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NER_MODELS_DIR=/models \
    NER_HOST=0.0.0.0 \
    NER_PORT=8000 \
    NER_WORKERS=1 \
    NER_THREADS=2
USER 10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('NER_PORT', '8000')}/health\", timeout=2)"]
CMD ["ner", "serve"]
