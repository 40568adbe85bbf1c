# Set-up is automatic: every target that needs Python packages builds .venv from the pins first.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# checkov pins libraries that clash with ours: it lives in a virtual environment of its own.
CHECKOV := .tools/checkov/.installed
# taskcat likewise (its pins clash with moto's).
TASKCAT := .tools/taskcat/.installed
# cyclonedx-py, the images' SBOM tool, likewise.
CYCLONEDX := .tools/cyclonedx/.installed

# What make test runs, in order: the one list that make help, the README and docs/checks.md name.
TEST_STEPS := lint unit jobs clock validate taskcat-lint taskcat mutate integration integration-live
# The fast pull-request path (the pull-request workflow runs the same).
PR_STEPS := lint unit clock process validate

.PHONY: help demo backtest-year images lock-images preflight fmt docs record-calls docs-check review container-tools test-tools test lint unit jobs clock process validate mutate taskcat-lint taskcat integration integration-live bench lock clean

help:
	@echo "make demo   deploy the stack into the local emulator and run the night in the jobs' images"
	@echo "make images hadolint, then the base image (cached), the three job images and their SBOMs (build/sbom)"
	@echo "make lock-images  each job image's lock from the import graph of its commands, with hashes"
	@echo "make preflight  will tonight's run fit the account? (local deployment; ARGS=\"--break quota\" to see a check fail)"
	@echo "make test   every check, in order: $(TEST_STEPS)"
	@echo "make $(PR_STEPS)   the fast pull-request path (a few minutes)"
	@echo "make process  the jobs as processes: SIGTERM, watchdogs, the deadline check's stops, the deploy's preflight gate"
	@echo "make clock  the tests that depend on the date or time, at a weekend evening, a holiday night and a daylight-saving switch"
	@echo "make integration-live  the integration suite in live mode against a deployment in the emulator"
	@echo "make validate   cfn-lint, guard rules and checkov, with the compliance table"
	@echo "make taskcat  taskcat's test run of .taskcat.yml, every test in its region, against the local emulator"
	@echo "make review BASE=<ref>  what the template changes since <ref> do to a running stack"
	@echo "make fmt    the templates in their canonical form (make lint checks it)"
	@echo "make docs   the docs' generated tables (least-privilege matrix, deployer permissions)"
	@echo "make record-calls  run every command against the local emulator, record the AWS calls it makes, then make docs"
	@echo "make docs-check  every link and command in README.md and docs/ (part of make lint)"
	@echo "make bench  risk engine benchmark, and in containers: image sizes, task start, the critical path (ARGS=--containers-only)"
	@echo "make backtest-year  a year of the sample's nights backtested: exceptions, Kupiec, Christoffersen, Basel traffic light"

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(CHECKOV): tools/checkov.lock
	$(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --disable-pip-version-check -r tools/checkov.lock
	touch $(CHECKOV)

$(TASKCAT): tools/taskcat.lock
	$(PYTHON) -m venv .tools/taskcat
	.tools/taskcat/bin/pip install --quiet --disable-pip-version-check -r tools/taskcat.lock
	touch $(TASKCAT)

$(CYCLONEDX): tools/cyclonedx.lock
	$(PYTHON) -m venv .tools/cyclonedx
	.tools/cyclonedx/bin/pip install --quiet --disable-pip-version-check -r tools/cyclonedx.lock
	touch $(CYCLONEDX)

# podman, runc and mmdebstrap from Debian's packages, when missing (needs root, as CI has).
container-tools:
	bash tools/install-container-tools.sh

# From Debian's packages, when missing: faketime (libfaketime) for make clock, poppler-utils
# (pdftotext, pdftoppm) for the jobs' tests that read the report's pages.
test-tools:
	bash tools/install-debian-tools.sh "faketime pdftotext pdftoppm" faketime poppler-utils

images: $(STAMP) $(CYCLONEDX) container-tools
	$(BIN)/riskbatch-images

# Each job image's lock from the import graph of its commands, with the wheels' hashes.
lock-images: $(STAMP)
	$(BIN)/riskbatch-lock-images

# What the template changes since BASE do to a running stack (out/review.md); exit 1 when a
# change needs a security reviewer. make review BASE=origin/main
BASE ?= origin/main
review: $(STAMP)
	$(BIN)/riskbatch-review $(BASE)

# The templates in their one canonical form (two-space JSON, sections and attributes in order).
fmt: $(STAMP)
	$(BIN)/riskbatch-fmt

# The docs' tables generated from the template and the scripts; the check also runs every
# link and command in README.md and docs/ through its checker (make lint runs it).
docs: $(STAMP)
	$(BIN)/riskbatch-docs

# The AWS calls each command makes, recorded against the local emulator (docs/recorded-calls.json), then the docs.
record-calls: $(STAMP)
	$(BIN)/riskbatch-docs --record

docs-check: $(STAMP)
	$(BIN)/riskbatch-docs --check

# Against a real account: riskbatch-preflight --stack-name <stack> [--region R] (see the runbook).
preflight: $(STAMP)
	$(BIN)/riskbatch-preflight --local $(ARGS)

# make demo ARGS=--processes runs the jobs as processes, with no container tools (and no root to
# install them); ARGS=--help lists the options.
demo: $(STAMP) $(if $(filter --processes,$(ARGS)),,$(CYCLONEDX) container-tools)
	$(BIN)/riskbatch-demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src test
	$(BIN)/riskbatch-fmt --check
	$(BIN)/cfn-lint
	$(BIN)/hadolint docker/*.Dockerfile
	$(BIN)/zizmor --offline --quiet .github/workflows
	$(BIN)/actionlint -shellcheck=$(BIN)/shellcheck
	$(BIN)/riskbatch-docs --check

# -n auto: one worker a core; --dist loadfile keeps a file's tests (and its module fixtures) in one worker.
# The JUnit report is what make validate's table reads (instead of running the suite again) while it is current.
unit: $(STAMP)
	$(BIN)/pytest -q -n auto --dist loadfile --junitxml=out/unit-junit.xml test/unit test/platform test/mutation/test_catalogue.py test/jobs/test_layers.py

jobs: $(STAMP) test-tools
	$(BIN)/pytest -q -n auto --dist loadfile test/jobs

# Every test marked clock, at each instant of riskbatch_platform/testing/clock.py: one pytest an instant, one a core at a time.
clock: $(STAMP) test-tools
	$(BIN)/riskbatch-clock-check

# The jobs as processes, on the pull-request path (make jobs runs them too): a worker's SIGTERM, the one-shot
# jobs' watchdog against a stalled endpoint, the deadline check's stops, the deploy's preflight gate.
# The deploy gate's file is in test/platform, which make unit runs whole: in the same make run it is left to unit.
PROCESS_FILES := test/jobs $(if $(filter unit,$(MAKECMDGOALS)),,test/platform/deployment/test_deploy_gate.py)
process: $(STAMP)
	$(BIN)/pytest -q -m process $(PROCESS_FILES)

# The unit suite's results come from make unit's report when unit runs in the same make command (make test, the
# pull-request path) and nothing it reads changed after its session began; else validate runs the suite itself.
UNIT_IN_THIS_RUN := $(filter unit test,$(MAKECMDGOALS))
validate: $(STAMP) $(CHECKOV) $(if $(UNIT_IN_THIS_RUN),| unit)
	$(BIN)/riskbatch-validate $(if $(UNIT_IN_THIS_RUN),--unit-results out/unit-junit.xml)

mutate: $(STAMP)
	$(BIN)/python -m test.mutation.run

taskcat-lint: $(TASKCAT)
	.tools/taskcat/bin/taskcat lint

taskcat: $(STAMP) $(TASKCAT)
	$(BIN)/riskbatch-taskcat

# Two workers, a file's tests together in one (--dist loadfile), files handed out in collection order
# (--no-loadscope-reorder): the container night (its own emulator, the one user of podman) runs beside
# the rest, which mostly waits on its tasks. Each worker deploys its own stack into its own emulator.
integration: $(STAMP) $(CYCLONEDX) container-tools
	$(BIN)/pytest -q -rs -n 2 --dist loadfile --no-loadscope-reorder test/integration

# The suite again in its live mode (RISKBATCH_LIVE=1), against a deployment in the emulator: the code
# a platform team runs after a real deploy, on every change.
integration-live: $(STAMP)
	$(BIN)/riskbatch-integration-live

# 251 nights of the sample book through the engine and the report's backtest, in one process (~35 s).
backtest-year: $(STAMP)
	$(BIN)/riskbatch-backtest-year $(ARGS)

# ARGS=--containers-only: only the containers part (images, a task's start, the critical path)
bench: $(STAMP) $(CYCLONEDX)
	$(BIN)/riskbatch-bench $(ARGS)

test: $(TEST_STEPS)

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | sed '/^riskbatch/d' > requirements.lock.new
	{ head -1 requirements.lock; cat requirements.lock.new; } > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock && rm requirements.lock.new

clean:
	rm -rf $(VENV) .tools out cfn-outputs .pytest_cache
