"""A night that read corporate actions reproduced from its manifest (riskbatch risk --manifest --corporate-actions),
and what the reproduction refuses in one line, exit 2, instead of computing another night: a missing or other
corporate-actions file, a manifest of an older format, another software version or other code, cleanings that differ from
the recorded ones, and a settings option the manifest fixes (riskbatch.model.reproduce, riskbatch.commands)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch import __version__
from riskbatch.aws.layout import report_keys
from riskbatch.cli import main
from riskbatch.inputs.sample import business_days
from riskbatch.model.code_fingerprint import code_fingerprint
from test.jobs.inputs.test_cleaning import DAYS, MONDAY
from test.jobs.jobs.test_corporate_actions_ingestion import CONFIRMED, split_night
from test.jobs.stack_layout import mocked_night, publish

BAD_ROW = "EQ_6,{day},0,exchange notice\n"  # a ratio of 0: quarantined on its own, the file's other record used


@pytest.fixture(scope="module")
def split_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """The night with EQ_5's unadjusted split and the corporate action confirming it (beside a bad row the night
    quarantined), through ingestion, the risk workers and the report: its folder, manifest and report figures."""
    tmp_path = tmp_path_factory.mktemp("split-run")
    folder, _, _ = split_night(tmp_path / "files", CONFIRMED + BAD_ROW)
    date = str(business_days(MONDAY, DAYS)[-1])
    monkeypatch = pytest.MonkeyPatch()
    try:
        with mocked_night(tmp_path / "night", monkeypatch, 2000, 500) as night:
            keys = night.upload(folder, date, ("rates.csv", "corporate_actions.csv", "positions.csv", "market.csv"))
            run = publish(night, keys[-1])
            output = night.settings.output_bucket
            manifest = json.loads(night.s3.get_object(Bucket=output, Key=f"runs/{run}/manifest.json")["Body"].read())
            figures = json.loads(night.s3.get_object(Bucket=output, Key=report_keys(date, run)[1])["Body"].read())
    finally:
        monkeypatch.undo()
    assert [cleaning["rule"] for cleaning in manifest["data_quality"]["cleanings"]] == ["split"]  # the night this test is about
    assert [row["line"] for row in manifest["corporate_actions_source"]["quarantined_rows"]] == [3]
    return folder, manifest, figures


def _reproduce(folder: Path, manifest: dict, tmp_path: Path, *options: str) -> list[str]:
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    files = ["--positions", str(folder / "positions.csv"), "--market", str(folder / "market.csv"), "--rates", str(folder / "rates.csv")]
    return ["risk", "--manifest", str(tmp_path / "manifest.json"), *files, "--quiet", "--json", *options]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, error = main(argv), capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    return error


def test_a_night_that_read_corporate_actions_is_reproduced_with_them_to_the_last_digit(split_run, tmp_path: Path, capsys) -> None:
    folder, manifest, figures = split_run
    assert main(_reproduce(folder, manifest, tmp_path, "--corporate-actions", str(folder / "corporate_actions.csv"))) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["run_id"] == manifest["run_id"] and again["data_quality"]["cleanings"] == manifest["data_quality"]["cleanings"]
    for key in ("var_95", "var_99", "es_975"):
        assert again["firm"][key] == figures["firm"][key]  # equal, not approximately


def test_the_reproduction_sets_apart_the_rows_the_night_quarantined_and_refuses_a_manifest_that_says_otherwise(split_run, tmp_path: Path, capsys) -> None:
    # before: a file with a bad row was refused whole, read by neither the night nor its reproduction ("run read no corporate actions file")
    folder, manifest, _ = split_run
    actions = ["--corporate-actions", str(folder / "corporate_actions.csv")]
    assert main(_reproduce(folder, manifest, tmp_path, *actions)) == 0
    again = json.loads(capsys.readouterr().out)["corporate_actions"]
    assert again == {"records": 1, "quarantined_rows": manifest["corporate_actions_source"]["quarantined_rows"]}
    other = json.loads(json.dumps(manifest))
    other["corporate_actions_source"]["quarantined_rows"] = []
    error = _refused(_reproduce(folder, other, tmp_path, *actions), capsys)
    assert f"the corporate actions file sets apart other rows than run {manifest['run_id']} quarantined (3): not its night as recorded" in error


def test_without_its_corporate_actions_file_or_with_another_the_reproduction_is_refused(split_run, tmp_path: Path, capsys) -> None:
    # before: no such option; the night was recomputed without the split's confirmation, its history unadjusted, other figures
    folder, manifest, _ = split_run
    error = _refused(_reproduce(folder, manifest, tmp_path), capsys)
    assert f"run {manifest['run_id']} read a corporate actions file" in error and "give it with --corporate-actions" in error
    other = tmp_path / "corporate_actions.csv"
    other.write_text((folder / "corporate_actions.csv").read_text().replace("notice", "Notice"))
    error = _refused(_reproduce(folder, manifest, tmp_path, "--corporate-actions", str(other)), capsys)
    assert f"is not the corporate actions file run {manifest['run_id']} read" in error and manifest["corporate_actions_source"]["sha256"] in error


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (("cleaning_policy",), "it lacks cleaning_policy"),
        (("corporate_actions_source",), "it lacks corporate_actions_source"),
        (("model", "block_size"), "it lacks model.block_size"),
        (("data_quality_policy", "jump_sigmas"), "it lacks data_quality_policy.jump_sigmas"),
        (("draw_order",), "it lacks draw_order"),
        (("code_fingerprint",), "it lacks code_fingerprint"),
    ],
)
def test_a_manifest_of_an_older_format_is_refused_not_filled_with_todays_defaults(split_run, tmp_path: Path, capsys, missing, named) -> None:
    # before: a missing setting took today's default (ModelParameters(**...), the cleaning standard's defaults, the names' draw order)
    folder, manifest, _ = split_run
    older = json.loads(json.dumps(manifest))
    del (older if len(missing) == 1 else older[missing[0]])[missing[-1]]
    error = _refused(_reproduce(folder, older, tmp_path, "--corporate-actions", str(folder / "corporate_actions.csv")), capsys)
    assert "manifest is of an older format" in error and named in error and "today's defaults would stand in" in error


def test_a_night_made_by_another_software_version_is_refused(split_run, tmp_path: Path, capsys) -> None:
    folder, manifest, _ = split_run
    assert manifest["software_version"] == __version__
    made = {**manifest, "software_version": "0.9.0"}
    error = _refused(_reproduce(folder, made, tmp_path, "--corporate-actions", str(folder / "corporate_actions.csv")), capsys)
    assert f"was made by riskbatch 0.9.0 and this is riskbatch {__version__}: reproduce it with riskbatch 0.9.0" in error


def test_a_night_computed_by_other_code_of_the_same_version_is_refused(split_run, tmp_path: Path, capsys) -> None:
    # before: the manifest recorded only software_version, 1.0.0 for every build: a night of other code was recomputed
    folder, manifest, _ = split_run
    assert manifest["code_fingerprint"] == code_fingerprint()  # the night's manifest records the code that computed it
    other = "".join("0123456789abcdef"[(int(digit, 16) + 1) % 16] for digit in code_fingerprint())
    made = {**manifest, "code_fingerprint": other}
    error = _refused(_reproduce(folder, made, tmp_path, "--corporate-actions", str(folder / "corporate_actions.csv")), capsys)
    assert f"run {manifest['run_id']} was computed by code {other[:12]} and this is code {code_fingerprint()[:12]} (both riskbatch {__version__})" in error
    assert "reproduce it with the build that ran it (its image" in error


def test_cleanings_that_differ_from_the_recorded_ones_are_refused(split_run, tmp_path: Path, capsys) -> None:
    folder, manifest, _ = split_run
    (split,) = manifest["data_quality"]["cleanings"]
    actions = ["--corporate-actions", str(folder / "corporate_actions.csv")]
    unrecorded = {**manifest, "data_quality": {**manifest["data_quality"], "cleanings": []}}
    error = _refused(_reproduce(folder, unrecorded, tmp_path, *actions), capsys)
    assert f"the files give the split of EQ_5 on {split['date']}, which it did not record" in error
    changed = {**manifest, "data_quality": {**manifest["data_quality"], "cleanings": [{**split, "cleaned": split["cleaned"] * 1.01}]}}
    assert f"the split of EQ_5 on {split['date']} differs in cleaned" in _refused(_reproduce(folder, changed, tmp_path, *actions), capsys)


@pytest.mark.parametrize("options", [["--seed", "5"], ["--scenarios", "100", "--cov", "ewma"], ["--date", "2026-11-13"], ["--currency", "USD"]])
def test_a_settings_option_with_a_manifest_is_refused_not_ignored(split_run, tmp_path: Path, capsys, options: list[str]) -> None:
    # before: the option was silently ignored and the manifest's value used
    folder, manifest, _ = split_run
    error = _refused(_reproduce(folder, manifest, tmp_path, "--corporate-actions", str(folder / "corporate_actions.csv"), *options), capsys)
    given = [option for option in options if option.startswith("--")]
    assert error.endswith("manifest fixes the night's settings; leave them out with --manifest") and ", ".join(given) in error


def test_corporate_actions_without_a_manifest_are_refused(split_run, capsys) -> None:
    # a run by name has no night whose corporate actions it would reproduce: the option is not silently ignored
    folder, _, _ = split_run
    files = ["--positions", str(folder / "positions.csv"), "--market", str(folder / "market.csv"), "--rates", str(folder / "rates.csv")]
    error = _refused(["risk", *files, "--quiet", "--corporate-actions", str(folder / "corporate_actions.csv")], capsys)
    assert "--second-source and --corporate-actions go with --manifest" in error
