"""riskbatch probe: a call is denied only when AWS answers with an access-denied code; any other
error, a 403 included, is an error, so a probe never passes for the wrong reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from riskbatch.operations.probe import outcome_of, parse_calls, run


def _error(code: str, status: int = 403) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} message"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Operation")


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("AccessDenied", "denied"),  # S3, STS, SQS (query-compatible)
        ("AccessDeniedException", "denied"),  # EventBridge, KMS, ECS
        ("AuthorizationError", "denied"),  # SNS
        ("UnauthorizedOperation", "denied"),  # EC2
        ("ExpiredToken", "error"),
        ("InvalidClientTokenId", "error"),
        ("SignatureDoesNotMatch", "error"),
        ("403", "error"),  # a 403 whose body names no code: not a denial
        ("NoSuchKey", "error"),
    ],
)
def test_only_an_access_denied_code_is_a_denial(code: str, outcome: str) -> None:
    assert outcome_of(_error(code))[0] == outcome


class Session:
    """Answers each operation as the table says: None for success, else the error code."""

    def __init__(self, answers: dict[str, str | None]) -> None:
        self.answers = answers
        self.written: dict[str, bytes] = {}

    def client(self, service: str) -> Any:
        session = self

        class Client:
            def __getattr__(self, operation: str) -> Any:
                def call(**parameters: Any) -> Any:
                    if operation == "put_object":
                        session.written[parameters["Key"]] = parameters["Body"]
                        return {}
                    answer = session.answers[operation]
                    if answer is not None:
                        raise _error(answer)
                    return {}

                return call

        return Client()


def _expectations(tmp_path: Path, calls: list[dict[str, Any]]) -> str:
    path = tmp_path / "expect.json"
    path.write_text(json.dumps({"calls": calls}), encoding="utf-8")
    return str(path)


def test_the_verdict_holds_only_when_every_call_went_as_expected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [
        {"name": "read", "service": "s3", "operation": "get_object", "parameters": {}, "expect": "allowed"},
        {"name": "publish", "service": "sns", "operation": "publish", "parameters": {}, "expect": "denied"},
    ]
    good = Session({"get_object": None, "publish": "AuthorizationError"})
    assert run(_expectations(tmp_path, calls), "s3://out/probes/verdict.json", good) == 0
    assert json.loads(good.written["probes/verdict.json"])["holds"] is True
    expired = Session({"get_object": None, "publish": "ExpiredToken"})  # refused, but not by the policy
    assert run(_expectations(tmp_path, calls), "s3://out/probes/verdict.json", expired) == 1
    verdict = json.loads(expired.written["probes/verdict.json"])
    assert verdict["holds"] is False and verdict["results"][1]["outcome"] == "error"
    assert "probe verdict: " in capsys.readouterr().out


def test_expectations_that_cannot_be_read_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.json"), None, Session({})) == 2
    with pytest.raises(ValueError, match="expect"):
        parse_calls({"calls": [{"name": "x", "service": "s3", "operation": "get_object", "expect": "maybe"}]})
    with pytest.raises(ValueError, match="no call"):
        parse_calls({"calls": []})
