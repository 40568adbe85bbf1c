# data-ingestion: the image the data-ingestion task definition runs (ECR repository ecr-data-ingestion-<suffix>).
# Build from the repository root: docker build -f docker/data-ingestion.Dockerfile -t ecr-data-ingestion:TAG .
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TMPDIR=/scratch \
    MPLCONFIGDIR=/scratch/matplotlib \
    NUMBA_CACHE_DIR=/scratch/numba

WORKDIR /app
COPY requirements-runtime.lock ./
RUN pip install --no-deps -r requirements-runtime.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps . && rm -rf /app/src

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
CMD ["ingest"]
