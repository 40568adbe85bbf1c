"""The patching machinery itself (src/riskbatch_platform/local/emulator/patching.py): the FIXES registry, each fix's kind,
the order the fixes apply in, the moto version they refuse to patch, undoing a fix, and a case for every fix in this folder.
"""

from __future__ import annotations

import pytest

from riskbatch_platform.local import emulator
from riskbatch_platform.local.emulator import patching
from riskbatch_platform.local.emulator.patching import FIXES, MOTO_VERSION
from test.platform.local.emulator.support import patched


def test_every_fix_is_in_the_list_and_has_an_honest_kind() -> None:
    assert len(FIXES) >= 14
    for each in FIXES:
        assert (each.__doc__ or "").split(".", 1)[0] in {"Defect", "Missing rule", "Stand-in"}, each.__name__


def test_the_fixes_apply_in_service_order_whichever_module_was_imported_first() -> None:
    # three moto functions are wrapped by two fixes each (the model map, IAM's request, its
    # authorisation): the wrappers go on in the order they were written, never the import order
    registered_last_first = list(reversed(FIXES))
    applied = patching.in_service_order(registered_last_first)
    services = [each.__module__.rsplit(".", 1)[1] for each in applied]
    assert services == sorted(services, key=patching.SERVICES.index)
    for service in patching.SERVICES:  # within a module, the order it was written in
        written = [each for each in FIXES if each.__module__.endswith(f".{service}")]
        assert [each for each in applied if each in written] == written
    order = [each.__name__ for each in applied]
    assert order.index("cloudwatch_alarms_from_cloudformation") < order.index("scheduler_schedules_from_cloudformation")
    assert order.index("cloudwatch_alarm_reads_authorised_on_the_alarm") < order.index("sqs_batch_calls_need_the_single_action")
    assert order.index("signatures_of_requests_without_a_body") < order.index("policy_conditions_evaluated")


def test_the_fixes_refuse_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(RuntimeError, match=MOTO_VERSION):
        patching.apply_fixes()


def test_a_fix_can_be_undone(aws: None) -> None:
    from moto.s3.responses import S3Response

    before = S3Response.__dict__["head_object"]
    with patched(emulator.s3.s3_missing_key_is_forbidden_without_list_bucket):
        assert S3Response.__dict__["head_object"] is not before
    assert S3Response.__dict__["head_object"] is before


def test_every_fix_has_its_case() -> None:
    from pathlib import Path

    # the cases are in this folder, one file per service
    text = "".join(path.read_text(encoding="utf-8") for path in sorted(Path(__file__).parent.glob("test_*.py")))
    # each fix named through its service's module (emulator.s3.s3_missing_key_...), as the cases call it
    missing = [each.__name__ for each in FIXES if f"emulator.{each.__module__.rsplit('.', 1)[1]}.{each.__name__}" not in text]
    assert missing == []
