"""A container's image from the ECS task metadata endpoint version 4, read once, never fatal.

AWS: "Amazon ECS task metadata endpoint version 4 for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html): from Fargate
platform version 1.4.0 ECS injects ECS_CONTAINER_METADATA_URI_V4 in every container, and a GET of
${ECS_CONTAINER_METADATA_URI_V4} returns the metadata of the container itself. The answer's shape is the one of
"Amazon ECS task metadata v4 examples for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-examples.html):
"Image" as the task definition names it, "ImageID" the "sha256:..." digest, described in "Amazon ECS task metadata
v4 JSON response for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-response.html).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from riskbatch.runtime.task_metadata import METADATA_VARIABLE, container_image, forget_container_image, read_container_image
from test.jobs.task_metadata_stand_in import DIGEST, IMAGE, closed_port, fargate_container_metadata


class _MetadataEndpoint(BaseHTTPRequestHandler):
    answer: ClassVar[bytes] = b"{}"
    status: ClassVar[int] = 200
    delay: ClassVar[float] = 0.0
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _MetadataEndpoint.requests.append(self.path)
        time.sleep(self.delay)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_MetadataEndpoint]]:
    """A stand-in for the task metadata endpoint on loopback, its URI in the variable as ECS sets it."""
    _MetadataEndpoint.answer, _MetadataEndpoint.status, _MetadataEndpoint.delay = json.dumps(fargate_container_metadata()).encode(), 200, 0.0
    _MetadataEndpoint.requests = []
    server = HTTPServer(("127.0.0.1", 0), _MetadataEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{server.server_port}/v4/cd189a933e5849daa93386466019ab50-2495160603")
    forget_container_image()
    yield _MetadataEndpoint
    forget_container_image()
    server.shutdown()
    server.server_close()


def test_the_image_and_its_digest_come_from_the_container_metadata(endpoint) -> None:
    assert read_container_image() == {"image": IMAGE, "image_digest": DIGEST}
    assert endpoint.requests == ["/v4/cd189a933e5849daa93386466019ab50-2495160603"]  # the container's own path, not /task


def test_the_endpoint_is_read_once_per_process(endpoint) -> None:
    first = container_image()
    first["image_digest"] = "changed by a caller"  # a copy: the process's record is not the caller's to change
    assert container_image() == {"image": IMAGE, "image_digest": DIGEST}
    assert len(endpoint.requests) == 1


def test_outside_ecs_the_image_is_unavailable_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(METADATA_VARIABLE, raising=False)
    found = read_container_image()
    assert found["image_digest"] == f"unavailable: no {METADATA_VARIABLE} (not running on ECS)"
    assert found["image"] == found["image_digest"]


def test_an_endpoint_that_refuses_the_connection_is_unavailable_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{closed_port()}/v4/task")
    found = read_container_image()
    assert found["image_digest"].startswith("unavailable: the task metadata endpoint did not answer (URLError")


def test_an_endpoint_slower_than_the_timeout_is_unavailable_after_the_timeout(endpoint) -> None:
    endpoint.delay = 1.0
    started = time.monotonic()
    found = read_container_image(timeout=0.2)
    assert time.monotonic() - started < 0.9  # the job waited the timeout, not the answer
    assert found["image_digest"].startswith("unavailable: the task metadata endpoint did not answer")
    assert "timed out" in found["image_digest"]


@pytest.mark.parametrize(
    ("status", "answer", "why"),
    [
        (500, b"{}", "did not answer (HTTPError: HTTP Error 500"),
        (200, b"<html>", "did not answer (JSONDecodeError"),
        (200, b"[]", "answered something other than a container's metadata"),
    ],
)
def test_an_error_or_an_answer_that_is_not_metadata_is_unavailable(endpoint, status: int, answer: bytes, why: str) -> None:
    endpoint.status, endpoint.answer = status, answer
    assert why in read_container_image()["image_digest"]


def test_metadata_without_an_image_digest_says_which_field_is_missing(endpoint) -> None:
    endpoint.answer = json.dumps({**fargate_container_metadata(), "ImageID": ""}).encode()
    assert read_container_image() == {"image": IMAGE, "image_digest": "unavailable: the container's metadata has no ImageID"}


def test_a_proxy_set_for_the_jobs_traffic_does_not_carry_the_metadata_request(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert read_container_image()["image_digest"] == DIGEST
