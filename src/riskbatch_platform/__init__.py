"""The platform team's tooling for the risk batch: deploy it, run it locally, check its templates, keep its docs true.

Not part of the jobs' images: the jobs are the `riskbatch` package beside this one. Subpackages:
- deployment: a stack into an account (or the emulator): change sets in phases, parameter and image
  checks, scaling after an update, bucket events, preflight against a stack, teardown;
- local: the local target: the emulator (moto with one module of fixes per service), the ECS
  stand-in that runs the jobs in their images (podman) or as processes, the demo's night;
- images: the job images: Dockerfiles read, the base and the three images built;
- analysis: the templates read offline: resolution, conditions, IAM conditions and audit, naming
  constraints, guard rules, cfn-lint, review of a change, the privilege matrix, the deployer's
  permissions, metric filters, the compliance table (make validate);
- testing: what proves a deployed stack: the live checks, taskcat's run, the live integration run;
- measurement: benchmarks and the model's accuracy and backtest studies;
- docs: the docs' generated parts, and the check that every link and command in them works.
The tooling works on a checkout of this repository (its templates, rules and docs): REPO_ROOT.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

if not (REPO_ROOT / "lib" / "TapStack.json").is_file():
    # installed from a wheel (pip install .), the package is not in its checkout: every command
    # would fail on a missing template, rule or page, so say once what to do instead
    raise SystemExit(
        f"riskbatch_platform works on a checkout of its repository, and {REPO_ROOT} is not one: "
        "install it from the checkout with `pip install --no-deps -e .` (make .venv/.installed does)"
    )
