# The NER service with the default models: docker build -t ner-service . && docker run -p 8000:8000 ner-service
#
# No torch: the models carry ONNX encoders that ONNX Runtime runs, and the CRF runs in NumPy.
#
# Build arguments:
#   BASE_IMAGE      a Debian-based image with python3 and venv (default: the public slim Python image)
#   PIP_CA_BUNDLE   a CA bundle in docker/ of the context for pip to trust (behind a TLS-intercepting proxy)
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG PIP_CA_BUNDLE=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY docker/ /tmp/docker/
RUN python3 -m venv /opt/venv
# The dependencies first, at the versions the tests passed with (docker/constraints.txt): a change to the
# code alone builds from here on.
RUN if [ -n "${PIP_CA_BUNDLE}" ]; then export PIP_CERT="/tmp/docker/${PIP_CA_BUNDLE}"; fi; \
    /opt/venv/bin/pip install --requirement /tmp/docker/constraints.txt
COPY pyproject.toml README.md LICENSE /src/
COPY ner /src/ner
COPY api /src/api
# ONNX Runtime requires protobuf for its offline tools only: inference never imports it.
# Nor does the service need pip once installed, NumPy's tests, C headers and Fortran wrapper generator
# (f2py), type stubs, or ONNX Runtime's model tools: all removed.
RUN if [ -n "${PIP_CA_BUNDLE}" ]; then export PIP_CERT="/tmp/docker/${PIP_CA_BUNDLE}"; fi; \
    /opt/venv/bin/pip install --constraint /tmp/docker/constraints.txt "/src[serve]" && rm -rf /src \
    && /opt/venv/bin/pip uninstall --yes --quiet protobuf setuptools pip \
    && rm -rf /opt/venv/lib/python3*/site-packages/numpy/tests /opt/venv/lib/python3*/site-packages/numpy/*/tests \
        /opt/venv/lib/python3*/site-packages/onnxruntime/{tools,transformers,quantization} \
        /opt/venv/lib/python3*/site-packages/numpy/{f2py,_core/include} \
    && find /opt/venv -name '*.pyi' -delete \
    && find /opt/venv -name __pycache__ -prune -exec rm -rf {} + \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib
# Permissions are fixed here so that the final image holds the models once (a chmod there would copy them).
COPY models /models
RUN chmod -R a+rX,go-w /models

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
COPY --from=build /models /models
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ner
# HOME: /tmp is the one writable place (an emptyDir in the pod); ONNX Runtime's telemetry, which writes
# under it, is off (ner.backends sets it so for every install)
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NER_MODELS_DIR=/models \
    NER_HOST=0.0.0.0 \
    NER_PORT=8000 \
    NER_WORKERS=1 \
    NER_THREADS=2 \
    NER_BACKEND=onnx \
    ORT_DISABLE_TELEMETRY=1 \
    HOME=/tmp
USER 10001
WORKDIR /tmp
EXPOSE 8000 9100
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('NER_PORT', '8000')}/health\", timeout=2)"]
CMD ["ner", "serve"]
