"""The builds a night saw, as the report's JSON lists them: each distinct unit build once with its units, a record
written before builds were recorded said to be so, and the distinct fingerprints, revisions and digests."""

from __future__ import annotations

import pytest

from riskbatch.model.build_record import NOT_RECORDED, computing_build, night_builds, running_build
from riskbatch.model.code_fingerprint import code_fingerprint
from riskbatch.runtime.task_metadata import METADATA_VARIABLE, forget_container_image


def build(fingerprint: str, revision: str, digest: str, kernel: str = "openblas 0.3.31 Haswell") -> dict[str, str]:
    return {"code_fingerprint": fingerprint, "source_revision": revision, "image": f"ecr-job@{digest}", "image_digest": digest, "blas_kernel": kernel}


def test_units_are_grouped_by_build_and_two_fingerprints_show() -> None:
    ours, theirs = build("a" * 64, "r1", "sha256:11"), build("b" * 64, "r2", "sha256:22")
    manifest = {"run_id": "r", **build("a" * 64, "r1", "sha256:00")}
    seen = night_builds(manifest, {2: theirs, 0: ours, 1: ours}, build("a" * 64, "r1", "sha256:33"))
    assert seen["units"] == [{**ours, "units": [0, 1]}, {**theirs, "units": [2]}]
    assert seen["code_fingerprints"] == ["a" * 64, "b" * 64]  # not one build: the auditor sees both
    assert seen["source_revisions"] == ["r1", "r2"]
    assert seen["image_digests"] == ["sha256:00", "sha256:11", "sha256:22", "sha256:33"]


def test_units_computed_on_two_blas_kernels_show_both() -> None:
    """OpenBLAS picks its kernel by the processor, and two kernels' factors differ in their last bits: the auditor sees
    that a night's parts were computed on two (riskbatch.model.blas_threads)."""
    ours, other_host = build("a" * 64, "r1", "sha256:11"), build("a" * 64, "r1", "sha256:11", "openblas 0.3.31 SkylakeX")
    ingestion = build("a" * 64, "r1", "sha256:00", "openblas 0.3.31 Zen")  # it computes no figure: its kernel is not the figures'
    seen = night_builds({"run_id": "r", **ingestion}, {0: ours, 1: other_host}, ours)
    assert seen["units"] == [{**ours, "units": [0]}, {**other_host, "units": [1]}]
    assert seen["blas_kernels"] == ["openblas 0.3.31 Haswell", "openblas 0.3.31 SkylakeX"] and seen["code_fingerprints"] == ["a" * 64]
    assert seen["ingestion"]["blas_kernel"] == "openblas 0.3.31 Zen"


def test_a_build_that_computes_figures_names_numpys_and_scipys_blas_and_the_kernel_each_picked() -> None:
    """numpy's BLAS computes the covariance's decompositions, scipy's own the scenario product (dtrmm)."""
    from threadpoolctl import threadpool_info

    kernel = computing_build()["blas_kernel"]
    libraries = {name: info for info in threadpool_info() if info["user_api"] == "blas" for name in ("numpy", "scipy") if f"{name}.libs" in info["filepath"]}
    assert libraries.keys() == {"numpy", "scipy"}
    assert kernel == "; ".join(f"{name} {info['internal_api']} {info['version']} {info['architecture']}" for name, info in sorted(libraries.items()))


def test_ingestions_build_names_numpys_blas_alone_and_needs_no_scipy() -> None:
    """The ingestion image has no scipy (test/platform/images/test_image_contents.py): its build must not load it."""
    import subprocess
    import sys

    from riskbatch_platform import REPO_ROOT

    script = "import sys; from riskbatch.model.build_record import running_build; k = running_build()['blas_kernel']; print(k, 'scipy' in sys.modules)"
    said = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO_ROOT).stdout.strip()
    assert said.startswith("numpy openblas ") and "scipy" not in said.removesuffix(" False") and said.endswith(" False")


def test_a_record_written_before_builds_were_recorded_says_so() -> None:
    report = build("a" * 64, "r1", "sha256:33")
    seen = night_builds({"run_id": "r", "code_fingerprint": "a" * 64}, {0: None, 1: report}, report)
    assert seen["ingestion"] == {"code_fingerprint": "a" * 64} | {field: NOT_RECORDED for field in ("source_revision", "image", "image_digest", "blas_kernel")}
    assert seen["units"][0] == {field: NOT_RECORDED for field in report} | {"units": [0]}
    assert seen["code_fingerprints"] == sorted([NOT_RECORDED, "a" * 64])


def test_the_running_build_without_a_revision_or_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKBATCH_SOURCE_REVISION", "")  # a checkout, not an image: no build argument set it
    monkeypatch.delenv(METADATA_VARIABLE, raising=False)
    forget_container_image()
    try:
        running = running_build()
    finally:
        forget_container_image()
    assert running["code_fingerprint"] == code_fingerprint()
    assert running["source_revision"] == "unknown"
    assert running["image_digest"].startswith("unavailable: no ECS_CONTAINER_METADATA_URI_V4")
