"""The commands make no AWS call the checked-in recording (docs/recorded-calls.json) does not hold.

Every command runs again against an emulator of its own, each in a botocore before-call recording
(riskbatch_platform.docs.record_calls); a call that is new since the recording fails here, so that the
recording is made again (make record-calls) and the unit suite then checks the documented policies
against it (test/unit/test_recorded_calls.py).
"""

from __future__ import annotations

from riskbatch_platform.docs.record_calls import COMMANDS, record, recorded
from test.integration.conftest import local_only


def test_every_call_the_commands_make_is_in_the_recording() -> None:
    local_only(None, "changes the stack")
    made = record(say=lambda line: None)
    kept = recorded()
    assert set(made) == set(COMMANDS) == set(kept)
    new = {command: sorted(set(calls) - set(kept[command])) for command, calls in made.items() if set(calls) - set(kept[command])}
    assert new == {}, f"calls made but not recorded (run make record-calls, then make docs): {new}"
