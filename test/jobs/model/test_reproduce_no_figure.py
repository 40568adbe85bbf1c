"""A night of no figure (every position refused) reproduced from its manifest: the command prints "no figure" with
the reasons, as the night published them, never a refused positions file (exit 2) and never a VaR of 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch.aws.layout import manifest_key
from riskbatch.aws.storage import get_json
from riskbatch.cli import main
from test.jobs.jobs.test_portfolio_without_figures import _spoiled
from test.jobs.stack_layout import mocked_night, publish, small_night

DATE = "2026-11-25"


def test_a_night_of_no_figure_is_reproduced_as_no_figure_with_its_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    folder = small_night(tmp_path / "files", DATE)
    count, first = _spoiled(folder, {"PF01", "PF02", "PF03"})
    with mocked_night(tmp_path / "night", monkeypatch, "1000", 500) as night:
        run = publish(night, night.upload(folder, DATE)[1])
        manifest = get_json(night.s3, night.settings.output_bucket, manifest_key(run))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    common = ["risk", "--manifest", str(tmp_path / "manifest.json"), "--positions", str(folder / "positions.csv"), "--market", str(folder / "market.csv")]
    capsys.readouterr()
    assert main([*common, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"reproduced run {run}" in text and f"excluded: {count} position(s)" in text
    assert "firm   no figure (not a VaR of 0): every position refused; the first: " + first in text and "VaR 99 %" not in text
    assert main([*common, "--quiet", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["run_id"] == run and printed["firm"] is None and printed["portfolios"] == {}
    assert printed["data_quality"]["excluded_positions"] == count and set(printed["portfolios_without_figures"]) == {"PF01", "PF02", "PF03"}
