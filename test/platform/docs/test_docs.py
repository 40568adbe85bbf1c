"""The docs are current: their generated tables match the template, every link and anchor
resolves, every command in them is accepted by what it runs; and each check can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskbatch_platform.analysis.deployer_permissions import deployer_policy, script_actions, unknown_to_parliament
from riskbatch_platform.analysis.privilege_matrix import role_rows
from riskbatch_platform.analysis.resolve import as_list
from riskbatch_platform.docs import check as doc_check
from riskbatch_platform.docs.blocks import COMMAND_LANGUAGES, commands_of, fenced_blocks
from riskbatch_platform.docs.generate import generated
from riskbatch_platform.docs.links import slug
from test.template_model import REPO_ROOT, load_template


def test_the_readme_is_a_newcomers_page_that_links_the_docs() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for page in sorted((REPO_ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def test_the_generated_tables_match_the_template_and_the_scripts() -> None:
    stale = [str(path.relative_to(REPO_ROOT)) for path, text in generated().items() if path.read_text(encoding="utf-8") != text]
    assert not stale, f"run make docs: {stale}"


def test_every_link_and_command_in_the_docs_is_good() -> None:
    assert doc_check.problems() == []


def test_the_docs_check_reads_every_command_block() -> None:
    # The check is only as good as what it finds: every page with a sh block yields its commands.
    for path in doc_check.markdown_files():
        commands, _ = commands_of(path)
        blocks = [block for block in fenced_blocks(path) if block[1] in COMMAND_LANGUAGES and any(line.strip() for line in block[2])]
        assert bool(commands) == bool(blocks), path


def _problems_of(tmp_path: Path, markdown: str) -> list[str]:
    page = tmp_path / "page.md"
    page.write_text(markdown, encoding="utf-8")
    return doc_check.page_problems(page)


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("```sh\nriskbatch-deploy --template lib/TapStack.json\n```\n", "the following arguments are required: --stack-name"),
        ("```sh\nriskbatch-teardown --stack-name s --suffix p --force\n```\n", "unrecognized arguments: --force"),
        ("```sh\n.venv/bin/python scripts/no_such_script.py\n```\n", "no such script"),
        ("```sh\n.venv/bin/riskbatch-deploy --stack-name s --no-such-option\n```\n", "unrecognized arguments: --no-such-option"),
        ("```sh\n.venv/bin/python -m riskbatch_platform.no_such_module\n```\n", "no such module"),
        ("```sh\nmake no-such-target\n```\n", "No rule to make target"),
        ("The tests are in `test/unit/test_no_such_file.py`.\n", "no such file in the repository"),
        ("The fixes are tested in `test_no_such_file.py`.\n", "no such file in the repository"),
        ("```sh\naws cloudformation describe-stack-events --stack riskbatch-prod\n```\n", "takes no --stack"),
        ("```sh\naws service-quotas request-service-quota-increase --service-code fargate --quota-code L-3032A538\n```\n", "needs --desired-value"),
        ("```sh\naws ecs run-everything\n```\n", "no operation run-everything"),
        ("```sh\naws s3api put-bucket-versioning --bucket b --versioning Status=Enabled\n```\n", "s3 put-bucket-versioning takes no --versioning"),
        ("```sh\nriskbatch plan --positions 10 --factors 5 --bogus\n```\n", "unrecognized arguments: --bogus"),
        ("```sh\n.venv/bin/pip install -r requirements-missing.lock\n```\n", "no such requirements file"),
        ("```sh\n.venv/bin/pytest test/no_such_folder\n```\n", "no such test path"),
        ("```sh\nfor job in alpha; do\n  docker build -f docker/$job.Dockerfile .\ndone\n```\n", "no such Dockerfile: docker/alpha.Dockerfile"),
        ("```sh\nterraform apply\n```\n", "no check for the program 'terraform'"),
        ("```\nmake test\n```\n", "a fenced block without a language"),
        ("See [the runbook](runbook-missing.md).\n", "no such file"),
        ("# Page\n\nSee [the top](page.md#page) and [below](#no-such-heading).\n", "no heading with that anchor"),
        ("```console\n$ riskbatch plan --positions 20000 --factors 500 --scenarios 100000\nnight: something else\n```\n", "its output differs"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else value,
)
def test_the_docs_check_finds(tmp_path: Path, markdown: str, expected: str) -> None:
    found = _problems_of(tmp_path, markdown)
    assert any(expected in problem for problem in found), found


def test_a_command_that_parses_is_not_a_problem(tmp_path: Path) -> None:
    assert _problems_of(tmp_path, "```sh\nriskbatch-teardown --stack-name s --suffix p  # a comment\n```\n") == []


def test_github_anchors_drop_punctuation_and_keep_hyphens() -> None:
    assert slug(" Preflight: will tonight's run fit this account?") == "preflight-will-tonights-run-fit-this-account"
    assert slug(" VPC endpoints (`lib/VpcEndpoints.json`, once per VPC)") == "vpc-endpoints-libvpcendpointsjson-once-per-vpc"


def test_the_matrix_has_a_row_for_every_statement_of_every_role() -> None:
    template = load_template()
    roles = [resource for resource in template["Resources"].values() if resource["Type"] == "AWS::IAM::Role"]
    statements = sum(len(policy["PolicyDocument"]["Statement"]) for role in roles for policy in role["Properties"].get("Policies", []))
    rows = role_rows(template)
    assert len(rows) == statements
    assert sum(1 for row in rows if row[0]) == len(roles)


def test_the_deployer_policy_names_only_actions_iam_knows_for_the_scripts_calls() -> None:
    # Every action the scripts need must be a real IAM action (an API operation's name is not
    # always its action's: s3:GetBucketEncryption is authorised by s3:GetEncryptionConfiguration).
    actions = set(script_actions())
    assert not actions & set(unknown_to_parliament())
    assert {"cloudformation:CreateChangeSet", "s3:GetEncryptionConfiguration", "servicequotas:GetServiceQuota", "ecs:StopTask"} <= actions
    written = json.loads((REPO_ROOT / "docs" / "deployer-policy.json").read_text(encoding="utf-8"))
    assert written == deployer_policy()


def test_the_deployer_may_read_enhanced_scan_findings_as_describe_image_scan_findings_needs() -> None:
    """Under enhanced scanning DescribeImageScanFindings needs inspector2:ListFindings too ("IAM
    permissions required for enhanced scanning in Amazon ECR":
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html): the deploy's
    image gate, which calls it, would stop phase 2 with AccessDenied."""
    actions = script_actions()
    assert "ecr:DescribeImageScanFindings" in actions
    assert actions["inspector2:ListFindings"] == actions["ecr:DescribeImageScanFindings"]
    for name in ("deployer-policy.json", "deploying-with-service-role-policy.json"):
        written = json.loads((REPO_ROOT / "docs" / name).read_text(encoding="utf-8"))
        granted = {
            action for statement in written["Statement"] for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
        }
        assert "inspector2:ListFindings" in granted, name


def test_the_scripts_calls_are_found_through_their_client_variables() -> None:
    # teardown disables rules through `events, ecs = target.client("events"), target.client("ecs")`
    # and lists buses through `pages(events.list_event_buses)`: both forms must be found.
    actions = script_actions()
    assert "src/riskbatch_platform/deployment/teardown.py" in actions["events:DisableRule"]
    assert "src/riskbatch_platform/deployment/teardown.py" in actions["events:ListEventBuses"]
    # what preflight does only against the local emulator (--break) is no deployer permission
    assert "ec2:CreateSubnet" not in actions and "ecr:BatchDeleteImage" not in actions


def test_a_service_role_takes_cloudformations_part_and_the_person_deploying_only_passes_it() -> None:
    # CloudFormation service role: the stack's calls are made with the role's credentials; the
    # person deploying needs iam:PassRole on it (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html).
    from riskbatch_platform.analysis.deployer_permissions import (
        TEMPLATE_READ_ACTIONS,
        cloudformation_actions,
        deploying_person_policy,
        service_role_policy,
        service_role_trust,
    )

    (role,) = service_role_policy()["Statement"]
    assert set(role["Action"]) == set(cloudformation_actions()) - set(TEMPLATE_READ_ACTIONS)
    assert service_role_trust()["Statement"][0]["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    person = {statement["Sid"]: statement for statement in deploying_person_policy()["Statement"]}
    granted = {action for statement in person.values() for action in as_list(statement["Action"])}
    handlers_only = set(cloudformation_actions()) - set(script_actions()) - set(TEMPLATE_READ_ACTIONS) - {"iam:PassRole"}
    assert handlers_only and not granted & handlers_only  # iam:CreateRole, kms:CreateKey, ... stay with the role
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DescribeStackEvents", "s3:GetObject"} <= granted
    passing = person["PassTheServiceRoleToCloudFormationOnly"]
    assert passing["Action"] == "iam:PassRole" and passing["Resource"].endswith(":role/role-cloudformation-riskbatch-*")
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    for name, make in (("cloudformation-service-role-policy.json", service_role_policy), ("deploying-with-service-role-policy.json", deploying_person_policy)):
        assert json.loads((REPO_ROOT / "docs" / name).read_text(encoding="utf-8")) == make()


def test_the_readmes_monthly_cost_is_the_cost_modules() -> None:
    """The deploy steps' "about N USD a month, M of it the VPC interface endpoints" is riskbatch plan's
    figure for the template's defaults (riskbatch.operations.costs), to the nearest 10 USD."""
    import re

    from riskbatch.operations import costs

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"about (\d+) USD a month,\s+(\d+) of it the VPC interface endpoints", readme)
    assert said, "the deploy steps say what the stack costs a month"
    template, endpoints = costs.load(costs.TEMPLATE), costs.load(costs.ENDPOINTS_TEMPLATE)
    lines = costs.monthly_lines(template, endpoints, costs.parameter_values(template, {}), costs.default_prices(), costs.Usage(0.05, 5_000))
    total = sum(line.monthly_usd for line in lines)
    (endpoint_hours,) = [line.monthly_usd for line in lines if line.item == "VPC interface endpoints (per VPC)"]
    assert (int(said.group(1)), int(said.group(2))) == (round(total, -1), round(endpoint_hours, -1))
    # the figure is the cost module's region's list prices; another region's comes from `riskbatch plan --price`
    where = re.search(r"(\d+) of it the VPC interface endpoints[^.]*? at ([a-z0-9-]+) list prices[^.]*?`riskbatch plan --price", readme)
    assert where and where.group(2) == costs.REGION, "the cost line says whose prices it is at and how to get another region's"
