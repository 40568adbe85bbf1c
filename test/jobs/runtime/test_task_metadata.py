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

TRICKLE_INTERVAL = 0.05  # seconds between two trickled bytes: far under any per-receive timeout the tests give


class _MetadataEndpoint(BaseHTTPRequestHandler):
    answer: ClassVar[bytes] = b"{}"
    status: ClassVar[int] = 200
    delay: ClassVar[float] = 0.0
    raw: ClassVar[bytes | None] = None  # written as it is instead of an HTTP response (a malformed or truncated one)
    trickle: ClassVar[int] = 0  # blanks sent one by one before the answer, each well within the per-receive timeout
    trickled_all = threading.Event()  # the whole trickled answer was sent
    stop = threading.Event()  # the test is over: stop trickling
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _MetadataEndpoint.requests.append(self.path)
        time.sleep(self.delay)
        if self.raw is not None:
            self.wfile.write(self.raw)
            return
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        if self.trickle:
            self.send_header("Content-Length", str(self.trickle + len(self.answer)))
        self.end_headers()
        for _ in range(self.trickle):  # leading blanks: JSON still, the answer a patient reader gets is the metadata
            if self.stop.wait(TRICKLE_INTERVAL):
                return
            self.wfile.write(b" ")
            self.wfile.flush()
        self.wfile.write(self.answer)
        if self.trickle:
            self.trickled_all.set()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_MetadataEndpoint]]:
    """A stand-in for the task metadata endpoint on loopback, its URI in the variable as ECS sets it."""
    _MetadataEndpoint.answer, _MetadataEndpoint.status, _MetadataEndpoint.delay = json.dumps(fargate_container_metadata()).encode(), 200, 0.0
    _MetadataEndpoint.raw, _MetadataEndpoint.trickle, _MetadataEndpoint.requests = None, 0, []
    _MetadataEndpoint.trickled_all.clear()
    _MetadataEndpoint.stop.clear()
    server = HTTPServer(("127.0.0.1", 0), _MetadataEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{server.server_port}/v4/cd189a933e5849daa93386466019ab50-2495160603")
    forget_container_image()
    yield _MetadataEndpoint
    forget_container_image()
    _MetadataEndpoint.stop.set()
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
    found = read_container_image(timeout=0.2)  # had the job waited for the answer, it would have the metadata
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


# AWS: "Amazon ECS task metadata endpoint version 4 for tasks on AWS Fargate"
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html): the endpoint is
# an HTTP server in the task's network that the container reads with a GET; what a job records from it is provenance
# only, so whatever that server answers (or fails to) must leave the job running, within the deadline, and read once.
@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"garbage\r\n\r\n", "did not answer (BadStatusLine: garbage"),  # a malformed status line
        (b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Image":', "did not answer (IncompleteRead: IncompleteRead(9 bytes read, 91 more expected)"),
    ],
    ids=["malformed-status-line", "truncated-body"],
)
def test_an_answer_http_cannot_read_is_unavailable_not_an_error(endpoint, raw: bytes, why: str) -> None:
    endpoint.raw = raw
    found = read_container_image()
    assert why in found["image_digest"]
    assert found["image"] == found["image_digest"]


def test_a_server_trickling_its_answer_is_abandoned_at_the_deadline(endpoint) -> None:
    endpoint.trickle = 40  # 40 bytes 0.05 s apart: the metadata after 2 s, each byte well within the 0.3 s per-receive timeout
    found = read_container_image(timeout=0.3)
    assert found["image_digest"] == "unavailable: the task metadata endpoint did not answer: timed out, the read abandoned at its 0.3 s deadline"
    assert not endpoint.trickled_all.is_set()  # the job has its answer while the server is still sending: it did not wait the read out


def test_a_failed_read_is_read_once_per_process(endpoint) -> None:
    endpoint.raw = b"garbage\r\n\r\n"
    first = container_image()
    assert first["image_digest"].startswith("unavailable: the task metadata endpoint did not answer (BadStatusLine")
    assert container_image() == first
    assert len(endpoint.requests) == 1  # the later units of the process do not ask again
