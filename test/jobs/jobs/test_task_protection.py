"""Scale-in protection goes through the ECS agent endpoint while a message is in hand."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from riskbatch.jobs.queue_worker import set_task_protection


class _Agent(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict]]] = []

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Agent.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch):
    server = HTTPServer(("127.0.0.1", 0), _Agent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ECS_AGENT_URI", f"http://127.0.0.1:{server.server_port}/v3/task-1")
    _Agent.received.clear()
    yield _Agent.received
    server.shutdown()


def test_protection_is_switched_on_and_off_through_the_agent(agent) -> None:
    assert set_task_protection(True, minutes=30) is True
    assert set_task_protection(False) is True
    assert agent == [
        ("/v3/task-1/task-protection/v1/state", {"ProtectionEnabled": True, "ExpiresInMinutes": 30}),
        ("/v3/task-1/task-protection/v1/state", {"ProtectionEnabled": False}),
    ]


def test_outside_ecs_there_is_nothing_to_protect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECS_AGENT_URI", raising=False)
    assert set_task_protection(True) is False
