"""Every record of a night says what computed it: ingestion's manifest, each unit's result and the report's
JSON carry the running code's fingerprint, the image's source revision and the image digest the task metadata
endpoint gives; the report lists the distinct values seen. Where there is no endpoint (a laptop, the local
runs), or it does not answer, the records say unavailable and the night is published all the same.

AWS: "Amazon ECS task metadata endpoint version 4 for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html): ECS sets
ECS_CONTAINER_METADATA_URI_V4 in each container of a Fargate task (platform 1.4.0 on), and a GET of it answers the
container's metadata, with "Image" and "ImageID" (the "sha256:..." digest) as in "Amazon ECS task metadata v4
examples for tasks on Fargate"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate-examples.html).
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (loaded before the jobs run here, as the risk and report tasks load it: one BLAS answer for all)

import test.jobs.stack_layout as layout
from riskbatch.aws.layout import manifest_key, report_keys, result_key
from riskbatch.jobs.ingestion import ingest
from riskbatch.jobs.risk_calculation import RiskCalculation
from riskbatch.model.build_record import blas_kernel
from riskbatch.model.code_fingerprint import code_fingerprint
from riskbatch.runtime.task_metadata import METADATA_VARIABLE, forget_container_image
from test.jobs.jobs.test_portfolio_without_figures import _spoiled
from test.jobs.stack_layout import Night, mocked_night, publish, small_night
from test.jobs.task_metadata_stand_in import closed_port, fargate_container_metadata

DATE = "2026-11-25"
REVISION = "0123abc"  # as the image's ENV from its REVISION build argument sets it
DIGESTS = {"data-ingestion": "sha256:" + "1a" * 32, "risk-calculation": "sha256:" + "2b" * 32, "report-generation": "sha256:" + "3c" * 32}


class _Endpoint(BaseHTTPRequestHandler):
    """The task metadata endpoint of the job's container; the test says which job's container it is."""

    job: ClassVar[str] = "data-ingestion"

    def do_GET(self) -> None:
        image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-{self.job}-test:1.0.0"
        body = json.dumps(fargate_container_metadata(image, DIGESTS[self.job])).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Night]:
    monkeypatch.setenv("RISKBATCH_SOURCE_REVISION", REVISION)
    forget_container_image()
    with mocked_night(tmp_path, monkeypatch, "1000", 500) as night:
        yield night
    forget_container_image()


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Endpoint]]:
    server = HTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{server.server_port}/v4/container")
    yield _Endpoint
    server.shutdown()
    server.server_close()


def as_job(endpoint: type[_Endpoint], job: str) -> None:
    """The next task runs in this job's container (each job is its own process and image on ECS)."""
    endpoint.job = job
    forget_container_image()


def each_job_in_its_container(endpoint: type[_Endpoint], monkeypatch: pytest.MonkeyPatch) -> None:
    """publish's ingestion, risk workers and report each read their own container's metadata (each job is its own
    process and image on ECS): ingestion first, then each drain of publish in the next job's container."""
    real_drain = layout.drain
    jobs = iter(["risk-calculation", "report-generation"])  # publish drains the work queue, then the report queue

    def drain_in_the_next_jobs_container(*args, **kwargs) -> None:
        as_job(endpoint, next(jobs))
        real_drain(*args, **kwargs)

    monkeypatch.setattr(layout, "drain", drain_in_the_next_jobs_container)
    as_job(endpoint, "data-ingestion")


def _json(night: Night, key: str) -> dict:
    return json.loads(night.s3.get_object(Bucket=night.settings.output_bucket, Key=key)["Body"].read())


def _unit_build(night: Night, run: str, unit: int) -> dict:
    body = night.s3.get_object(Bucket=night.settings.output_bucket, Key=result_key(run, unit))["Body"].read()
    with np.load(io.BytesIO(body)) as result:  # allow_pickle stays off: the record is text
        return json.loads(str(result["built_by"]))


def _audit_trail(night: Night, key: str, folder: Path) -> str:
    """The PDF's text from its audit trail on, as poppler's pdftotext reads it, whitespace folded."""
    path = folder / "report.pdf"
    path.write_bytes(night.s3.get_object(Bucket=night.settings.output_bucket, Key=key)["Body"].read())
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout.split())
    return text[text.index("Audit trail") :]


def _build(job: str) -> dict:
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-{job}-test:1.0.0"
    return {"code_fingerprint": code_fingerprint(), "source_revision": REVISION, "image": image, "image_digest": DIGESTS[job], "blas_kernel": blas_kernel()}


def test_ingestion_records_the_image_digest_beside_the_fingerprint(night: Night, endpoint, tmp_path: Path) -> None:
    settings = night.settings
    as_job(endpoint, "data-ingestion")
    run = ingest(settings.input_bucket, night.upload(small_night(tmp_path / "files", DATE), DATE)[1], settings, night.s3, night.sqs, night.sns).run_id
    manifest = _json(night, manifest_key(run))
    assert {field: manifest[field] for field in _build("data-ingestion")} == _build("data-ingestion")


def test_a_units_result_records_the_build_that_computed_it(night: Night, endpoint, tmp_path: Path) -> None:
    settings = night.settings
    as_job(endpoint, "data-ingestion")
    run = ingest(settings.input_bucket, night.upload(small_night(tmp_path / "files", DATE), DATE)[1], settings, night.s3, night.sqs, night.sns).run_id
    as_job(endpoint, "risk-calculation")
    message = night.messages(settings.risk_work_queue_url, 1)[0]
    RiskCalculation(night.s3, night.events, settings.event_bus_name)(message, lambda: False)
    assert _unit_build(night, run, int(message["unit"])) == _build("risk-calculation")


def test_the_reports_json_records_its_build_and_lists_the_builds_of_the_night(night: Night, endpoint, tmp_path: Path, monkeypatch) -> None:
    key = night.upload(small_night(tmp_path / "files", DATE), DATE)[1]
    each_job_in_its_container(endpoint, monkeypatch)
    run = publish(night, key)
    computed_by = _json(night, report_keys(DATE, run)[1])["computed_by"]
    units = len(_json(night, manifest_key(run))["units"])
    assert units > 1  # more than one unit: the units' builds are grouped, not repeated
    assert computed_by == {
        "ingestion": _build("data-ingestion"),
        "units": [{**_build("risk-calculation"), "units": list(range(units))}],
        "report": _build("report-generation"),
        "code_fingerprints": [code_fingerprint()],  # one build computed the night
        "source_revisions": [REVISION],
        "image_digests": sorted(DIGESTS.values()),  # one image per job
        "blas_kernels": [blas_kernel()],  # one processor here: one kernel
    }
    for unit in range(units):
        assert _unit_build(night, run, unit) == _build("risk-calculation")
    audit = _audit_trail(night, report_keys(DATE, run)[0], tmp_path)  # the PDF's audit trail names them too
    assert f"code fingerprint {code_fingerprint()[:16]}" in audit and f"source revision {REVISION}" in audit
    assert all(digest[:24] in audit for digest in DIGESTS.values()) and "BLAS kernel" in audit
    assert all(library in " ".join(audit.split()) for library in blas_kernel().split("; "))  # numpy's and scipy's, wrapped or not


def test_without_an_answering_endpoint_the_records_say_unavailable_and_the_night_is_published(night: Night, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(METADATA_VARIABLE, f"http://127.0.0.1:{closed_port()}/v4/container")  # set, but nothing answers
    run = publish(night, night.upload(small_night(tmp_path / "files", DATE), DATE)[1])
    computed_by = _json(night, report_keys(DATE, run)[1])["computed_by"]  # published: the report's JSON is there
    for build in (computed_by["ingestion"], *computed_by["units"], computed_by["report"], _json(night, manifest_key(run))):
        assert build["code_fingerprint"] == code_fingerprint()
        assert build["image_digest"].startswith("unavailable: the task metadata endpoint did not answer")
    assert computed_by["code_fingerprints"] == [code_fingerprint()]


def test_a_night_of_no_figure_lists_the_build_of_its_empty_unit(night: Night, endpoint, tmp_path: Path, monkeypatch) -> None:
    folder = small_night(tmp_path / "files", DATE)
    _spoiled(folder, {"PF01", "PF02", "PF03"})  # every row refused: one empty unit, a report of no figure
    key = night.upload(folder, DATE)[1]
    each_job_in_its_container(endpoint, monkeypatch)
    run = publish(night, key)
    report = _json(night, report_keys(DATE, run)[1])
    assert report["firm"] is None  # a night of no figure
    # the empty unit's result names the risk worker's build: the report lists it as it lists every unit's
    assert _unit_build(night, run, 0) == _build("risk-calculation")
    assert report["computed_by"]["units"] == [{**_build("risk-calculation"), "units": [0]}]
    assert report["computed_by"]["image_digests"] == sorted(DIGESTS.values())
