"""The emulator on loopback: each one started answers on a port of its own, even when another server takes a port
the moment it is released (what a second emulator, started at the same time, does)."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import boto3
import pytest

from riskbatch_platform.local.emulator.loopback import running_emulator

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


class _Impostor(http.server.BaseHTTPRequestHandler):
    """Another server on the port: it answers every request, as an emulator would to the readiness probe."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"impostor")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def ports_taken_when_released(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every listening-free TCP socket this process binds on loopback and closes: its port is taken at once by
    another server (the race of two starters: one closes the port it chose, the other's server binds it first)."""
    taken: list[int] = []
    servers: list[http.server.HTTPServer] = []
    close = socket.socket.close

    def closing(self: socket.socket) -> None:
        port = 0
        try:
            if self.family == socket.AF_INET and self.type == socket.SOCK_STREAM:
                port = self.getsockname()[1]
                self.getpeername()  # a connected socket (a client's) is not a port being handed on
                port = 0
        except OSError:
            pass
        close(self)
        if port:
            server = http.server.HTTPServer(("127.0.0.1", port), _Impostor)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            taken.append(port)

    monkeypatch.setattr(socket.socket, "close", closing)
    yield taken
    monkeypatch.setattr(socket.socket, "close", close)
    for server in servers:
        server.shutdown()
        server.server_close()


def _buckets(endpoint_url: str) -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint_url, **KEYS)
    return [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


def test_a_port_taken_by_another_server_between_choosing_and_binding_is_never_the_emulators(tmp_path: Path, ports_taken_when_released) -> None:
    with running_emulator(enforce_iam=False, log_dir=tmp_path) as emulator:
        port = int(emulator.endpoint_url.rsplit(":", 1)[1])
        assert port not in ports_taken_when_released
        boto3.client("s3", region_name="us-east-1", endpoint_url=emulator.endpoint_url, **KEYS).create_bucket(Bucket="its-own")
        assert _buckets(emulator.endpoint_url) == ["its-own"]  # the emulator answered, not the other server


def test_two_emulators_started_at_once_answer_on_ports_of_their_own(tmp_path: Path) -> None:
    started: dict[str, str] = {}
    ready, release = threading.Barrier(3), threading.Event()
    errors: list[BaseException] = []

    def start(name: str) -> None:
        try:
            with running_emulator(enforce_iam=False, log_dir=tmp_path / name) as emulator:
                started[name] = emulator.endpoint_url
                ready.wait(timeout=120)
                release.wait(timeout=120)
        except BaseException as error:  # reported by the test's thread
            errors.append(error)
            ready.abort()

    with ExitStack() as stack:
        threads = [threading.Thread(target=start, args=(name,)) for name in ("first", "second")]
        for thread in threads:
            thread.start()
            stack.callback(thread.join, 30)
        stack.callback(release.set)
        ready.wait(timeout=120)
        assert not errors and started["first"] != started["second"]
        for name, url in started.items():
            boto3.client("s3", region_name="us-east-1", endpoint_url=url, **KEYS).create_bucket(Bucket=f"bucket-{name}")
        assert {name: _buckets(url) for name, url in started.items()} == {"first": ["bucket-first"], "second": ["bucket-second"]}
