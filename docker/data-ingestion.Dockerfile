# data-ingestion: the image the data-ingestion task definition runs (ECR repository ecr-data-ingestion-<suffix>).
# Build from the repository root (make images builds all three against the local base, with the labels):
#   podman build --build-arg BASE_IMAGE=<base> -f docker/data-ingestion.Dockerfile -t ecr-data-ingestion:TAG .
# BASE_IMAGE is any Debian bookworm image with Python 3.11 and its venv module: the public image,
# pinned by the digest of its multi-architecture index (a registry that serves other content for
# it fails the pull; the unit suite refuses a FROM without a digest), or the base make images
# builds from Debian's packages.
ARG BASE_IMAGE=docker.io/library/python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/riskbatch/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TMPDIR=/scratch \
    MPLCONFIGDIR=/scratch/matplotlib \
    NUMBA_CACHE_DIR=/scratch/numba \
    RISKBATCH_KERNEL_CPU=auto

# This job's runtime, and only it (requirements-runtime-data-ingestion.lock: what the import graph of its
# commands needs, make lock-images), in a virtual environment of its own, from the wheels
# make images downloads on the host (build/wheels): the build needs no network, and pip checks
# every wheel against its SHA-256 in the lock (--require-hashes). pip runs from its own wheel
# (build/installer, requirements-installer.lock), so that pip itself is not in the image.
COPY requirements-runtime-data-ingestion.lock /tmp/
RUN --mount=type=bind,source=build/wheels,target=/wheels \
    --mount=type=bind,source=build/installer,target=/installer \
    python3 -m venv --without-pip /opt/riskbatch \
    && /opt/riskbatch/bin/python /installer/pip.whl/pip install --no-cache-dir --no-index --find-links /wheels --no-deps --require-hashes \
       -r /tmp/requirements-runtime-data-ingestion.lock
# The riskbatch package itself (built on the host with pip wheel); copied, so a change rebuilds this layer.
COPY build/project/ /tmp/project/
RUN --mount=type=bind,source=build/installer,target=/installer \
    /opt/riskbatch/bin/python /installer/pip.whl/pip install --no-cache-dir --no-index --no-deps /tmp/project/riskbatch-*.whl && rm -rf /tmp/project

# The task definition runs the container as 10001:10001 with a read-only root filesystem;
# /scratch is the task's writable scratch volume. On Fargate a task volume without a host path
# starts as an empty directory owned by root, mode 0755, unless the image declares VOLUME for
# the mount path: then the image's directory (owned by 10001) is copied in. Without this VOLUME
# the user 10001 could write nothing there (ECS developer guide, "Use bind mounts with Amazon ECS").
# The directory is prepared before VOLUME: changes to a volume path after it are discarded.
RUN groupadd --system --gid 10001 riskbatch && useradd --system --uid 10001 --gid 10001 --no-create-home riskbatch \
    && mkdir -p /scratch && chown 10001:10001 /scratch && chmod 0700 /scratch
USER 10001:10001
VOLUME ["/scratch"]

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["riskbatch", "health"]
ENTRYPOINT ["riskbatch"]
CMD ["ingest"]

# OCI labels from the build's arguments (make images and the images workflow set them); last, so
# that a new revision changes no layer above.
ARG BASE_IMAGE
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="riskbatch data-ingestion" \
      org.opencontainers.image.description="Overnight risk batch on Amazon ECS Fargate: the data-ingestion job" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# the revision a night's manifest records (the version alone cannot name the build that ran it)
ENV RISKBATCH_SOURCE_REVISION="${REVISION}"
