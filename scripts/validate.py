#!/usr/bin/env python3
"""make validate: cfn-lint, then the guard rules, then checkov, then the unit suite, as one compliance table.

Prints the table (requirement, what enforces it, PASS or FAIL) and writes it as Markdown and
JSON for a pull request. Exits 1 when anything fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file

from riskbatch_infra.policy import evaluate_all

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "lib" / "TapStack.json"
CHECKOV = REPO_ROOT / ".tools" / "checkov" / "bin" / "checkov"


# requirement -> (guard rules, unit test functions as file::function) that enforce it
REQUIREMENTS: list[tuple[str, list[str], list[str]]] = [
    (
        "Fargate only: task definitions, services, RunTask targets, cluster capacity",
        ["ecs_task_definitions_fargate_only", "ecs_fargate_capacity_only"],
        [
            "test_task_definitions.py::test_task_runs_on_fargate_only_with_awsvpc",
            "test_cluster_and_repositories.py::test_no_ec2_capacity_anywhere",
        ],
    ),
    (
        "Capacity provider strategy, never beside a launch type",
        ["ecs_no_launch_type_with_capacity_provider_strategy"],
        ["test_services.py::test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type"],
    ),
    (
        "FARGATE and FARGATE_SPOT associated with a default strategy",
        ["ecs_fargate_capacity_only"],
        ["test_cluster_and_repositories.py::test_cluster_uses_fargate_and_fargate_spot_with_a_default_strategy"],
    ),
    (
        "Platform version 1.4.0 or LATEST",
        ["ecs_platform_version_1_4_0_or_later"],
        ["test_services.py::test_platform_version_is_1_4_0_or_latest"],
    ),
    (
        "Task and container CPU and hard memory, no oversubscription",
        ["ecs_task_cpu_memory_defined", "ecs_containers_within_task_size"],
        ["test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task"],
    ),
    (
        "Valid Fargate CPU/memory pair",
        ["ecs_task_size_valid_fargate_pair"],
        ["test_task_definitions.py::test_task_size_is_a_valid_fargate_pair"],
    ),
    (
        "Hardened containers: read-only root, scratch volume, non-root, unprivileged, StopTimeout 120",
        [],
        [
            "test_task_definitions.py::test_container_is_hardened",
            "test_task_definitions.py::test_read_only_container_has_a_writable_scratch_volume",
        ],
    ),
    ("ECR scan on push", ["ecr_scan_on_push"], ["test_cluster_and_repositories.py::test_repository_scans_on_push"]),
    (
        "ECR keeps the last 10 images of any tag",
        ["ecr_lifecycle_keeps_last_ten_images"],
        ["test_cluster_and_repositories.py::test_repository_keeps_the_last_ten_images_of_any_tag"],
    ),
    (
        "ECR EmptyOnDelete, immutable tags",
        ["ecr_empty_on_delete"],
        [
            "test_cluster_and_repositories.py::test_repository_empties_on_delete",
            "test_cluster_and_repositories.py::test_repository_tags_are_immutable",
        ],
    ),
    (
        "Log groups KMS-encrypted, 30-day retention",
        ["log_groups_encrypted_with_customer_key", "log_groups_retention_30_days"],
        ["test_encryption.py::test_log_group_is_encrypted_with_the_key_and_kept_30_days"],
    ),
    (
        "Key policy: CloudWatch Logs under the encryption-context condition; rotation",
        ["kms_key_policy_allows_logs_with_encryption_context"],
        [
            "test_encryption.py::test_logs_may_use_the_key_only_for_this_stacks_log_groups",
            "test_encryption.py::test_key_rotates_and_can_be_deleted_within_seven_days",
        ],
    ),
    (
        "Key policy: alarms and EventBridge may use the key",
        [],
        ["test_encryption.py::test_alarms_and_eventbridge_may_use_the_key_within_this_account"],
    ),
    (
        "Circuit breaker with rollback, MinimumHealthyPercent 100",
        ["ecs_services_have_circuit_breaker"],
        ["test_services.py::test_service_rolls_back_failed_deployments_without_dropping_capacity"],
    ),
    (
        "120 s grace period backed by a container health check",
        ["ecs_services_grace_period_backed_by_health_check"],
        ["test_services.py::test_service_grace_period_is_backed_by_a_container_health_check"],
    ),
    (
        "No placement constraints or strategies",
        ["ecs_no_placement_constraints_or_strategies"],
        ["test_services.py::test_has_no_placement_constraints_or_strategies"],
    ),
    ("No public IPs", ["ecs_no_public_ip"], ["test_services.py::test_runs_in_the_three_private_subnets_without_public_ip"]),
    (
        "Services and targets in three subnets; AZ rebalancing",
        ["ecs_tasks_in_three_subnets"],
        [
            "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
            "test_services.py::test_service_rebalances_across_zones",
        ],
    ),
    (
        "No template DesiredCount; services behind DeployServices",
        [],
        [
            "test_services.py::test_service_leaves_desired_count_to_scaling",
            "test_services.py::test_service_waits_for_images_and_capacity_providers",
        ],
    ),
    (
        "CPU 70 % target tracking, 300 s cooldowns, for every service",
        ["ecs_services_cpu_target_tracking"],
        [
            "test_services.py::test_service_tracks_70_percent_cpu_with_300_second_cooldowns",
            "test_services.py::test_service_has_one_scalable_target_on_desired_count",
        ],
    ),
    (
        "Backlog scaling from zero; overnight schedule in New York time",
        [],
        [
            "test_services.py::test_service_starts_from_zero_on_its_queue_backlog",
            "test_services.py::test_service_scales_up_for_the_overnight_window_in_new_york_time",
        ],
    ),
    (
        "Failure-rate alarm (> 5 % over 10 min) with an action",
        ["cloudwatch_failure_rate_alarm_with_action"],
        [
            "test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",
            "test_monitoring.py::test_metric_filters_count_stopped_and_failed_tasks",
        ],
    ),
    (
        "DLQ and failed-invocation alarms notify the topic",
        [],
        [
            "test_monitoring.py::test_every_dead_letter_queue_holding_messages_alarms_to_the_topic",
            "test_monitoring.py::test_rule_failed_invocations_alarm_to_the_topic",
        ],
    ),
    (
        "No Administrator or PowerUser policies",
        ["iam_no_admin_or_poweruser_policies"],
        ["test_iam.py::test_role_has_no_administrator_or_power_user_policy"],
    ),
    ("No wildcard actions", ["iam_no_wildcard_actions"], ["test_iam.py::test_role_allows_no_wildcard_action"]),
    (
        "* resources only for actions AWS grants on * only",
        ["iam_star_resource_only_for_star_only_actions"],
        ["test_iam.py::test_star_resource_only_for_actions_aws_grants_on_star_only"],
    ),
    (
        "RunTask role limited by cluster; PassRole limited to the task's roles",
        ["iam_run_task_limited_to_cluster_and_named_roles"],
        [
            "test_iam.py::test_run_task_role_runs_only_its_task_definition_on_its_cluster",
            "test_iam.py::test_run_task_role_passes_exactly_the_two_roles_of_its_task_definition",
        ],
    ),
    (
        "One task and one execution role per job, each scoped to its job",
        [],
        [
            "test_task_definitions.py::test_task_has_its_own_task_and_execution_roles",
            "test_iam.py::test_execution_role_pulls_from_its_own_repository_only",
            "test_iam.py::test_task_role_touches_only_the_queues_its_job_is_configured_with",
        ],
    ),
    (
        "Every named resource carries the suffix; role names the region",
        ["resources_named_with_environment_suffix"],
        [
            "test_naming.py::test_resource_is_named_from_the_suffix",
            "test_naming.py::test_role_names_carry_the_region",
            "test_naming.py::test_name_fits_the_aws_limit_with_the_longest_suffix_and_region",
        ],
    ),
    ("No Retain anywhere", ["no_retain_policies"], ["test_network_outputs_and_lifecycle.py::test_resource_is_deleted_with_the_stack"]),
    (
        "SNS and SQS encrypted",
        ["sns_topics_encrypted", "sqs_queues_encrypted"],
        ["test_encryption.py::test_queue_is_encrypted_with_the_key", "test_encryption.py::test_topic_is_encrypted_with_the_key"],
    ),
    (
        "Queues redrive to DLQs after 3 receives",
        ["sqs_queues_redrive_to_dead_letter_queues"],
        ["test_events_and_queues.py::test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives"],
    ),
    (
        "S3 arrival runs ingestion with bucket and key; retry and DLQ",
        [],
        [
            "test_events_and_queues.py::test_ingestion_rule_matches_objects_created_in_the_input_bucket_under_the_prefix",
            "test_events_and_queues.py::test_ingestion_input_transformer_hands_bucket_and_key_to_the_container",
            "test_events_and_queues.py::test_delivery_target_retries_and_dead_letters",
        ],
    ),
    (
        "Completion event routed to the report queue",
        [],
        [
            "test_events_and_queues.py::test_completion_rule_routes_run_completed_from_the_workers_bus_to_the_report_queue",
            "test_events_and_queues.py::test_queue_targets_may_receive_from_their_rule_only",
        ],
    ),
    (
        "Task security group: no ingress, HTTPS egress; endpoints behind the switch",
        [],
        [
            "test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only",
            "test_network_outputs_and_lifecycle.py::test_vpc_endpoints_exist_only_behind_the_switch",
        ],
    ),
    (
        "Outputs for the scripts, exported with the suffix",
        [],
        [
            "test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",
            "test_network_outputs_and_lifecycle.py::test_output_is_described_and_exported_with_the_suffix",
        ],
    ),
    (
        "Every guard rule has PASS and FAIL cases, and they hold",
        [],
        ["test_guard_rules.py::test_rule_has_cases_that_pass_and_fail", "test_guard_rules.py::test_rule_case"],
    ),
]


@dataclass
class Row:
    requirement: str
    enforced_by: str
    status: str


def unit_results(out_dir: Path) -> dict[str, bool]:
    """file::function -> whether every one of its cases passed."""
    report = out_dir / "unit-junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "test/unit", f"--junitxml={report}", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
    )
    results: dict[str, bool] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        function = case.get("name", "").split("[", 1)[0]
        passed = case.find("failure") is None and case.find("error") is None
        key = f"{module}.py::{function}"
        results[key] = results.get(key, True) and passed
    return results


def checkov_results() -> tuple[list[Row], str]:
    if not CHECKOV.exists():
        return [Row("checkov scan", "checkov", "FAIL")], "checkov is not installed: run `make validate` (it installs .tools/checkov)"
    completed = subprocess.run(
        [str(CHECKOV), "-f", str(TEMPLATE), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(completed.stdout)
    results = report["results"]
    rows: dict[str, Row] = {}
    for status, key in (("PASS", "passed_checks"), ("FAIL", "failed_checks"), ("SKIP", "skipped_checks")):
        for check in results.get(key, []):
            row = rows.setdefault(check["check_id"], Row(check["check_name"], f"checkov {check['check_id']}", status))
            if status == "FAIL":
                row.status = "FAIL"
    summary = report["summary"]
    line = f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped"
    return sorted(rows.values(), key=lambda row: row.enforced_by), line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))

    lint = lint_file(TEMPLATE, config=ManualArgs(regions=LINT_REGIONS, include_checks=["I"]))
    rows = [Row("cfn-lint (errors, warnings, informational) reports nothing", "cfn-lint", "PASS" if not lint else "FAIL")]
    guard = {verdict.rule: verdict.status for verdict in evaluate_all(template)}
    units = unit_results(args.out)
    for requirement, rules, tests in REQUIREMENTS:
        missing = [test for test in tests if test not in units]
        if missing:
            raise SystemExit(f"the table names tests that do not exist: {missing}")
        statuses = [guard[rule] for rule in rules] + ["PASS" if units[test] else "FAIL" for test in tests]
        enforced = ", ".join([f"guard {rule}" for rule in rules] + [f"test {test}" for test in tests])
        rows.append(Row(requirement, enforced, "PASS" if all(status == "PASS" for status in statuses) else "FAIL"))
    uncovered = sorted(set(guard) - {rule for _, rules, _ in REQUIREMENTS for rule in rules})
    for rule in uncovered:
        rows.append(Row(f"(guard rule) {rule}", f"guard {rule}", guard[rule]))
    checkov_rows, checkov_line = checkov_results()
    rows += checkov_rows

    width = max(len(row.requirement) for row in rows)
    for row in rows:
        print(f"{row.status:<5} {row.requirement:<{width}}  {row.enforced_by}")
    failed = [row for row in rows if row.status == "FAIL"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} requirements pass; {checkov_line}; {len(lint)} cfn-lint findings")
    markdown = ["| requirement | enforced by | status |", "| --- | --- | --- |"]
    markdown += [f"| {row.requirement} | {row.enforced_by.replace('|', '/')} | {row.status} |" for row in rows]
    (args.out / "compliance.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    (args.out / "compliance.json").write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out / 'compliance.md'}, {args.out / 'compliance.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
