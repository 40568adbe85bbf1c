"""A live integration run may skip only for a listed reason, and must exercise something."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from test.integration import conftest
from test.integration.conftest import LIVE_SKIP_PREFIX, LIVE_SKIPS, Tally


def _listed(why: str) -> str:
    return f"{LIVE_SKIP_PREFIX}{why}: {LIVE_SKIPS[why]}"


def test_every_listed_reason_names_the_aws_document_behind_it() -> None:
    assert LIVE_SKIPS
    for why, justification in LIVE_SKIPS.items():
        assert "https://docs.aws.amazon.com/" in justification, why


def test_a_skip_for_an_unlisted_reason_is_counted_apart() -> None:
    tally = Tally(passed=3, skipped={_listed("changes the stack"): 4, "drives the night through the local ECS runner": 2})
    assert tally.unlisted == {"drives the night through the local ECS runner": 2}
    assert tally.line("live") == "integration (live): 3 passed, 0 failed, 6 skipped"


def test_a_test_cannot_skip_for_a_reason_that_is_not_listed() -> None:
    with pytest.raises(ValueError, match="not a listed reason"):
        conftest.local_only(None, "it is slow")


@pytest.mark.parametrize(
    ("tally", "live", "expected"),
    [
        (Tally(passed=5, skipped={"an unlisted reason": 1}), True, 1),
        (Tally(passed=0), True, 1),  # a live run that exercised nothing
        (Tally(passed=5, skipped={_listed("changes the stack"): 1}), True, 0),
        (Tally(passed=0, skipped={"an unlisted reason": 1}), False, 0),  # the local run: its own skips are the gap lists'
    ],
    ids=["unlisted skip", "nothing passed", "listed skip", "local run"],
)
def test_a_live_run_fails_on_an_unlisted_skip_or_when_nothing_passed(monkeypatch: pytest.MonkeyPatch, tally: Tally, live: bool, expected: int) -> None:
    monkeypatch.setattr(conftest, "TALLY", tally)
    monkeypatch.setattr(conftest, "LIVE", live)
    session = SimpleNamespace(exitstatus=0)
    conftest.pytest_sessionfinish(session, 0)  # type: ignore[arg-type]
    assert session.exitstatus == expected


class _Item:
    def __init__(self, name: str, *markers: str, nights: int = 0) -> None:
        self.name, self.markers, self.nights = name, set(markers), nights

    def get_closest_marker(self, name: str) -> object | None:
        if name == "nights":
            return SimpleNamespace(args=(self.nights,)) if self.nights else None
        return name if name in self.markers else None


@pytest.mark.parametrize(
    ("marker", "flag", "attribute"),
    [("live_exercise", "RISKBATCH_EXERCISE_STACK", "EXERCISE_STACK"), ("live_stops_a_task", "RISKBATCH_INJECT_FAULTS", "INJECT_FAULTS")],
)
@pytest.mark.parametrize(
    ("live", "opted_in", "kept"),
    [(False, False, True), (True, False, False), (True, True, True)],
    ids=["local run: always", "live run: deselected", "live run: opted in"],
)
def test_what_acts_on_a_live_stack_runs_only_when_opted_in(
    monkeypatch: pytest.MonkeyPatch, marker: str, flag: str, attribute: str, live: bool, opted_in: bool, kept: bool
) -> None:
    monkeypatch.setattr(conftest, "LIVE", live)
    monkeypatch.setattr(conftest, attribute, opted_in)
    monkeypatch.setattr(conftest, "TALLY", Tally())
    deselected: list[object] = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    items = [_Item("opted", marker), _Item("plain")]
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert len(items) == (2 if kept else 1) and len(deselected) == (0 if kept else 1)
    assert conftest.TALLY.deselected == ({} if kept else {f"opt in with {flag}=1 (live mode)": 1})


def test_a_live_run_of_chosen_files_runs_them_alone() -> None:
    from riskbatch_platform.testing.integration_live import _names_a_test_file

    assert _names_a_test_file("test/integration/test_preflight.py") and _names_a_test_file("test/integration/test_preflight.py::test_x")
    assert not _names_a_test_file("least_privilege")  # a -k expression
    assert not _names_a_test_file("test/unit")  # not the integration suite


def test_the_stacks_teardown_is_ordered_after_every_other_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """make integration hands files to two workers in collection order: the test that deletes the session's
    stack must come last, or a file given to the same worker after it would find no stack."""
    monkeypatch.setattr(conftest, "TALLY", Tally())
    items = [_Item("a"), _Item("teardown", "deletes_the_stack"), _Item("b"), _Item("fault", "live_fault"), _Item("c")]
    deselected: list = []
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)))
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["a", "b", "c", "teardown"]
    assert [item.name for item in deselected] == ["fault"]  # the local run leaves out the live fault, as before


def test_under_xdist_the_tally_counts_one_workers_deselections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every worker collects the whole suite and deselects the same tests: the controller's tally takes one
    worker's count, not their sum, so the summary says what it said in one process."""
    workers = []
    for _ in range(2):
        monkeypatch.setattr(conftest, "TALLY", Tally(deselected={"live mode only": 1}))
        worker = SimpleNamespace(config=SimpleNamespace(workeroutput={}), exitstatus=0)
        conftest.pytest_sessionfinish(worker, 0)  # type: ignore[arg-type]
        workers.append(SimpleNamespace(workeroutput=worker.config.workeroutput))
    controller = Tally()
    monkeypatch.setattr(conftest, "TALLY", controller)
    for node in workers:
        conftest.pytest_testnodedown(node, None)
    assert controller.deselected == {"live mode only": 1}


def test_the_files_that_run_nights_are_handed_out_first_most_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """make integration (--dist loadfile --no-loadscope-reorder) hands the files out in collection order: first the
    check of the night the stack ran before the suite (integration-live runs one process: after the night files it
    would read a night the suite made), then the files that run nights, most first, so that the short files fill
    in at the end; the teardown still last."""
    monkeypatch.setattr(conftest, "TALLY", Tally())
    items = [_Item("a"), _Item("one night", nights=1), _Item("teardown", "deletes_the_stack"), _Item("b"), _Item("two nights", nights=2)]
    items.insert(2, _Item("last night", "reads_the_stacks_night"))
    config = SimpleNamespace(hook=SimpleNamespace(pytest_deselected=lambda items: None))
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["last night", "two nights", "one night", "a", "b", "teardown"]
