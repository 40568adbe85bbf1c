# report-generation: the image the report-generation task definition runs (ECR repository ecr-report-generation-<suffix>).
# Build from the repository root (make images builds all three against the local base):
#   podman build --build-arg BASE_IMAGE=<base> -f docker/report-generation.Dockerfile -t ecr-report-generation:TAG .
# BASE_IMAGE is any Debian bookworm image with Python 3.11 and its venv module: the pinned
# public image on a CI that reaches a registry, or the base make images builds from Debian's packages.
ARG BASE_IMAGE=docker.io/library/python:3.11.14-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/riskbatch/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TMPDIR=/scratch \
    MPLCONFIGDIR=/scratch/matplotlib \
    NUMBA_CACHE_DIR=/scratch/numba

# The jobs' pinned runtime in a virtual environment of its own, the same on either base, from
# the wheels make images downloads on the host (build/wheels: the pins of requirements-runtime.lock):
# the build itself needs no network, and installs exactly what the host verified.
COPY requirements-runtime.lock /tmp/
RUN --mount=type=bind,source=build/wheels,target=/wheels \
    python3 -m venv /opt/riskbatch \
    && /opt/riskbatch/bin/pip install --no-cache-dir --no-index --find-links /wheels --no-deps -r /tmp/requirements-runtime.lock
# The riskbatch package itself (built on the host with pip wheel); copied, so a change rebuilds this layer.
COPY build/project/ /tmp/project/
RUN /opt/riskbatch/bin/pip install --no-cache-dir --no-index --no-deps /tmp/project/riskbatch-*.whl && rm -rf /tmp/project

# The task definition runs the container as 10001:10001 with a read-only root filesystem;
# /scratch is the task's writable scratch volume. On Fargate a task volume without a host path
# starts as an empty directory owned by root, mode 0755, unless the image declares VOLUME for
# the mount path: then the image's directory (owned by 10001) is copied in. Without this VOLUME
# the user 10001 could write nothing there (ECS developer guide, "Use bind mounts with Amazon ECS").
# The directory is prepared before VOLUME: changes to a volume path after it are discarded.
RUN groupadd --system --gid 10001 riskbatch && useradd --system --uid 10001 --gid 10001 --no-create-home riskbatch \
    && mkdir -p /scratch && chown 10001:10001 /scratch && chmod 0700 /scratch
VOLUME ["/scratch"]
USER 10001:10001

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["riskbatch", "health"]
ENTRYPOINT ["riskbatch"]
CMD ["worker", "report"]
