"""riskbatch-preflight's counts take the validator riskbatch plan uses; a reader that closes the pipe early
(`riskbatch plan ... | head -1`) ends the command quietly, as Python's documentation of SIGPIPE says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskbatch.operations.aws_access import EXIT_BROKEN_PIPE, guarded
from riskbatch_platform.deployment import preflight

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("option", ["--positions", "--factors", "--scenarios"])
@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_preflight_refuses_a_count_below_one_as_plan_does(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    with pytest.raises(SystemExit) as stop:
        preflight.main(["--stack-name", "s", "--region", "us-east-1", option, value])
    assert stop.value.code == 2
    assert f"{value!r}: give a whole number of at least 1" in capsys.readouterr().err


def test_a_closed_pipe_is_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise BrokenPipeError(32, "Broken pipe")

    assert guarded("riskbatch plan", body) == EXIT_BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err


def test_riskbatch_plan_into_head_ends_without_a_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    plan = [sys.executable, "-c", "import sys; from riskbatch.cli import main; sys.exit(main())", "plan", "--positions", "3000", "--factors", "300"]
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(plan, stdout=reader.stdin, stderr=subprocess.PIPE, env=env, timeout=120, check=False)
    reader.stdin.close()  # type: ignore[union-attr]
    reader.wait(timeout=30)
    assert b"BrokenPipeError" not in writer.stderr and b"Traceback" not in writer.stderr
