"""What the jobs' tests stand up for the ECS task metadata endpoint version 4: a container's metadata as Fargate
answers it, and a loopback port nothing answers on.

AWS: "Amazon ECS task metadata v4 examples for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-examples.html),
the example container metadata response: "Image" as the task definition names it, "ImageID" the "sha256:..." digest.
"""

from __future__ import annotations

import socket

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-risk-calculation-test:1.0.0"
DIGEST = "sha256:" + "5e" * 32


def fargate_container_metadata(image: str = IMAGE, digest: str = DIGEST) -> dict:
    """The container metadata a Fargate task's container gets at ${ECS_CONTAINER_METADATA_URI_V4} (fields as in AWS's example)."""
    return {
        "DockerId": "cd189a933e5849daa93386466019ab50-2495160603",
        "Name": "job",
        "DockerName": "job",
        "Image": image,
        "ImageID": digest,
        "Labels": {"com.amazonaws.ecs.container-name": "job", "com.amazonaws.ecs.task-definition-family": "risk-calculation"},
        "DesiredStatus": "RUNNING",
        "KnownStatus": "RUNNING",
        "Type": "NORMAL",
    }


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed): a connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
