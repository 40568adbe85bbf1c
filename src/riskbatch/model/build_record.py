"""What ran: the build a task computed with, recorded beside what it wrote, and the builds a night saw.

Each of the night's records (ingestion's manifest, every unit's result, the report's JSON) carries the
running code's fingerprint (model/code_fingerprint.py), the commit its image was built from and the
image's digest (runtime/task_metadata.py), so an auditor reads from the night's own records that one
build computed it, and which image to reproduce it with. The three jobs run three images: the digests
differ by job by design, the fingerprint and the revision must not. Each record names the BLAS kernel too:
OpenBLAS picks it by the processor, and two kernels' covariance factors differ in their last bits
(riskbatch.model.blas_threads), so two parts of a night computed on different kernels agree to about
1e-14 of the P&L, not to the last bit.
"""

from __future__ import annotations

import os
from typing import Any

from threadpoolctl import threadpool_info

from riskbatch.model.code_fingerprint import code_fingerprint
from riskbatch.runtime.task_metadata import container_image

REVISION_VARIABLE = "RISKBATCH_SOURCE_REVISION"  # the image's commit: its build sets it from the REVISION build argument
NOT_RECORDED = "not recorded"  # a record written before builds were recorded
BUILD_FIELDS = ("code_fingerprint", "source_revision", "image", "image_digest", "blas_kernel")


def source_revision() -> str:
    return os.environ.get(REVISION_VARIABLE) or "unknown"


def blas_kernel() -> str:
    """The BLAS libraries loaded and the kernel each picked for this processor, as threadpoolctl reads them: numpy's
    (the covariance's decompositions) and scipy's own once scipy.linalg is loaded (the scenario product,
    scipy.linalg.blas.dtrmm): "numpy openblas 0.3.31.188.0 Haswell; scipy openblas 0.3.30 Haswell"."""
    import numpy  # noqa: F401  (loads numpy's OpenBLAS: every job computes with numpy)

    found = []
    for info in threadpool_info():
        package = next((name for name in ("numpy", "scipy") if f"{name}.libs" in info.get("filepath", "")), None)
        if info.get("user_api") == "blas" and package:
            found.append(f"{package} {info['internal_api']} {info.get('version')} {info.get('architecture')}")
    return "; ".join(sorted(found)) or "unknown"


def running_build() -> dict[str, str]:
    """This process's build: code fingerprint, source revision, image and image digest (or "unavailable: <why>"), and the
    BLAS kernels loaded (ingestion's: numpy's alone; its image has no scipy)."""
    return {"code_fingerprint": code_fingerprint(), "source_revision": source_revision(), **container_image(), "blas_kernel": blas_kernel()}


def computing_build() -> dict[str, str]:
    """running_build of a process that computes figures (a risk unit, the report, a reproduction): scipy.linalg loaded
    first, so that its BLAS is named whatever the process computed before (an empty unit computes nothing)."""
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS)

    return running_build()


def recorded_build(record: dict[str, Any] | None) -> dict[str, str]:
    """The build fields of a record (a manifest, a unit's build); NOT_RECORDED for each one it lacks."""
    record = record or {}
    return {field: str(record[field]) if record.get(field) else NOT_RECORDED for field in BUILD_FIELDS}


def night_builds(manifest: dict[str, Any], units: dict[int, dict[str, Any] | None], report: dict[str, str]) -> dict[str, Any]:
    """The builds that computed a night, for the report's JSON: ingestion's (from the manifest), the units'
    (each distinct build once, with the units it computed), the report's own, and the distinct
    fingerprints, revisions and image digests over all of them (one fingerprint: one build computed it)."""
    ingestion = recorded_build(manifest)
    by_build: dict[tuple[str, ...], list[int]] = {}
    for unit, build in sorted(units.items()):
        by_build.setdefault(tuple(recorded_build(build).values()), []).append(unit)
    unit_builds = [{**dict(zip(BUILD_FIELDS, key, strict=True)), "units": indices} for key, indices in by_build.items()]
    every = [ingestion, *unit_builds, recorded_build(report)]
    return {
        "ingestion": ingestion,
        "units": unit_builds,
        "report": recorded_build(report),
        **{f"{field}s": sorted({build[field] for build in every}) for field in ("code_fingerprint", "source_revision", "image_digest")},
        # the kernels of the parts that compute figures (the units' P&L, the report's revaluations), not ingestion's
        "blas_kernels": sorted({build["blas_kernel"] for build in [*unit_builds, recorded_build(report)]}),
    }
