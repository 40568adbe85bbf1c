#!/usr/bin/env python3
"""make validate: cfn-lint, the guard rules, the unit suite, checkov, parliament and cfripper, as one compliance table.

Prints the table (requirement, what enforces it, PASS or FAIL), then AWS's naming constraints
met by every name at its longest, then the IAM linters' counts; writes the table as Markdown and
JSON for a pull request. Exits 1 when anything fails. Both templates are checked: lib/TapStack.json
(one stack per environment) and lib/VpcEndpoints.json (one stack per VPC).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from riskbatch_infra.iam_audit import cfripper_findings, parliament_findings
from riskbatch_infra.lint import lint, templates
from riskbatch_infra.naming import LONGEST_REGION, longest_suffix, named_things
from riskbatch_infra.policy import evaluate_all

REPO_ROOT = Path(__file__).resolve().parents[1]
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
        [
            "test_encryption.py::test_alarms_and_eventbridge_may_use_the_key",
            "test_encryption.py::test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries",
            "test_encryption.py::test_alarms_may_use_the_key_within_this_account",
        ],
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
            "test_monitoring.py::test_rule_delivery_failures_alarm_to_the_topic",
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
            "test_naming.py::test_name_is_built_from_the_suffix",
            "test_naming.py::test_role_names_carry_the_region",
            "test_naming.py::test_name_follows_type_purpose_suffix",
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
        "Task security group: no ingress, HTTPS egress",
        [],
        ["test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only"],
    ),
    (
        "Private-DNS endpoints once per VPC (lib/VpcEndpoints.json); no empty route-table list",
        ["vpc_private_dns_endpoints_in_network_stack"],
        [
            "test_network_outputs_and_lifecycle.py::test_no_interface_endpoint_in_the_environment_stack",
            "test_vpc_endpoints.py::test_every_service_the_jobs_call_has_an_endpoint",
            "test_vpc_endpoints.py::test_interface_endpoint_has_private_dns_in_the_three_subnets_behind_its_group",
            "test_vpc_endpoints.py::test_an_empty_route_table_list_never_reaches_the_gateway",
        ],
    ),
    (
        "AWS naming constraints: length, characters, reserved prefixes (sg-), longest suffix and region",
        ["ec2_security_group_name_not_reserved"],
        [
            "test_naming.py::test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region",
            "test_naming.py::test_the_constraints_reject_names_aws_rejects",
        ],
    ),
    (
        "Parameters: Rules refuse bad sets before anything changes; minimums within maximums",
        [],
        [
            "test_parameters.py::test_good_parameters_pass_every_rule_and_ordering",
            "test_parameters.py::test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message",
            "test_parameters.py::test_a_minimum_above_its_maximum_is_refused",
        ],
    ),
    (
        "Every IAM policy valid for parliament and cfripper (kept findings justified in their config)",
        [],
        [
            "test_iam_validity.py::test_parliament_finds_nothing_in_the_environment_template",
            "test_iam_validity.py::test_parliament_finds_nothing_in_the_vpc_endpoints_template",
            "test_iam_validity.py::test_cfripper_finds_nothing_unjustified",
        ],
    ),
    (
        "Writable paths of non-root containers are VOLUMEs of their images (Fargate bind mounts)",
        [],
        [
            "test_images.py::test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image",
            "test_images.py::test_every_path_the_jobs_write_lies_in_a_writable_volume",
        ],
    ),
    (
        "A custom-bus rule is named by its Name, never by its Ref (busname|rulename)",
        [],
        [
            "test_events_and_queues.py::test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus",
            "test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",
        ],
    ),
    (
        "The task events log policy can give way to a shared one (10 per account and Region)",
        [],
        ["test_monitoring.py::test_task_events_log_policy_can_be_left_to_a_shared_one"],
    ),
    (
        "Emulator fixes: each defect present in moto as shipped, gone with its fix",
        [],
        [
            "test_emulator_fixes.py::test_the_s3_prefix_condition_is_evaluated",
            "test_emulator_fixes.py::test_a_missing_key_is_403_unless_the_caller_may_list_the_bucket",
            "test_emulator_fixes.py::test_run_task_is_allowed_on_its_cluster_only_and_passes_only_its_roles_to_ecs_tasks",
            "test_emulator_fixes.py::test_simulate_principal_policy_decides_pass_role_by_the_service",
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
    (
        "Log retention a parameter, every value CloudWatch Logs accepts from 30 days",
        ["log_groups_retention_30_days"],
        [
            "test_audit_retention.py::test_the_retention_parameter_offers_every_value_cloudwatch_logs_accepts_from_30_days",
            "test_audit_retention.py::test_every_log_group_keeps_its_events_for_the_parameters_days",
        ],
    ),
    (
        "Production keeps its key and log groups on deletion; its key waits 30 days",
        ["no_retain_policies"],
        [
            "test_audit_retention.py::test_the_audit_data_is_kept_on_deletion_and_replacement_in_production_only",
            "test_audit_retention.py::test_everything_else_is_deleted_with_the_stack_in_every_environment",
            "test_audit_retention.py::test_the_key_waits_longer_before_deletion_in_production",
        ],
    ),
    (
        "Warm workers on weekday nights only",
        [],
        ["test_services.py::test_service_scales_up_for_the_overnight_window_in_new_york_time"],
    ),
]


@dataclass
class Row:
    requirement: str
    enforced_by: str
    status: str


def unit_results(out_dir: Path) -> dict[str, bool]:
    """file::function -> whether every one of its cases passed (a skipped case is not a pass)."""
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
        passed = all(case.find(outcome) is None for outcome in ("failure", "error", "skipped"))
        key = f"{module}.py::{function}"
        results[key] = results.get(key, True) and passed
    return results


def guard_results(documents: dict[str, dict]) -> dict[str, str]:
    """rule -> FAIL when it fails on any template, PASS when it passes on one, else SKIP."""
    verdicts: dict[str, list[str]] = {}
    for document in documents.values():
        for verdict in evaluate_all(document):
            verdicts.setdefault(verdict.rule, []).append(verdict.status)
    return {rule: "FAIL" if "FAIL" in found else "PASS" if "PASS" in found else "SKIP" for rule, found in verdicts.items()}


def checkov_results(paths: list[Path]) -> tuple[list[Row], str]:
    if not CHECKOV.exists():
        return [Row("checkov scan", "checkov", "FAIL")], "checkov is not installed: run `make validate` (it installs .tools/checkov)"
    command = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "-o", "json"]
    for path in paths:
        command += ["-f", str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    rows: dict[str, Row] = {}
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    version = ""
    for report in reports:
        results = report["results"]
        for status, key in (("PASS", "passed_checks"), ("FAIL", "failed_checks"), ("SKIP", "skipped_checks")):
            for check in results.get(key, []):
                row = rows.setdefault(check["check_id"], Row(check["check_name"], f"checkov {check['check_id']}", status))
                if status == "FAIL":
                    row.status = "FAIL"
        for name in totals:
            totals[name] += report["summary"][name]
        version = report["summary"]["checkov_version"]
    line = f"checkov {version}: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
    return sorted(rows.values(), key=lambda row: row.enforced_by), line


def naming_table(documents: dict[str, dict]) -> tuple[list[str], bool]:
    """One line per resource type: its longest name against AWS's limit, reserved prefixes, the source."""
    by_type: dict[tuple[str, str], list] = {}
    for name, document in documents.items():
        for thing in named_things(document, name):
            by_type.setdefault((thing.resource_type, thing.constraint.prop), []).append(thing)
    lines = [f"{'status':<6} {'type':<44} {'name':<20} {'longest':>7} {'limit':>5}  reserved      source"]
    ok = True
    for (kind, prop), things in sorted(by_type.items()):
        constraint = things[0].constraint
        problems = [f"{thing.logical_id}: {problem}" for thing in things for problem in thing.problems]
        ok = ok and not problems
        longest = max(len(thing.longest) for thing in things)
        reserved = ",".join(constraint.reserved_prefixes) or "-"
        lines.append(
            f"{'PASS' if not problems else 'FAIL':<6} {kind:<44} {prop:<20} {longest:>7} {constraint.max_length:>5}  {reserved:<13} {constraint.source}"
        )
        lines += [f"       {problem}" for problem in problems]
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    paths = templates()
    documents = {path.relative_to(REPO_ROOT).as_posix(): json.loads(path.read_text(encoding="utf-8")) for path in paths}

    findings = [finding for path in paths for finding in lint(path)]
    rows = [Row("cfn-lint (errors, warnings, informational) reports nothing on either template", "cfn-lint", "PASS" if not findings else "FAIL")]
    guard = guard_results(documents)
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
    checkov_rows, checkov_line = checkov_results(paths)
    rows += checkov_rows

    parliament_open, parliament_kept = [], []
    for name, document in documents.items():
        found, kept = parliament_findings(document, name)
        parliament_open += found
        parliament_kept += kept
    reports = [cfripper_findings(path) for path in paths]
    cfripper_open = [finding for report in reports for finding in report.unjustified]
    cfripper_kept = [finding for report in reports for finding in report.justified]
    unread = [resource for report in reports for resource in report.unread]
    rows.append(Row("parliament: no finding outside tools/parliament.yaml", "parliament", "PASS" if not parliament_open else "FAIL"))
    rows.append(Row("cfripper: no finding outside tools/cfripper/filters.py", "cfripper", "PASS" if not cfripper_open else "FAIL"))
    names, names_ok = naming_table(documents)
    rows.append(Row("AWS naming constraints, every name at its longest", "riskbatch_infra/naming.py", "PASS" if names_ok else "FAIL"))

    width = max(len(row.requirement) for row in rows)
    for row in rows:
        print(f"{row.status:<5} {row.requirement:<{width}}  {row.enforced_by}")
    print(f"\nnaming constraints (suffix of {len(longest_suffix(documents['lib/TapStack.json']))} characters, region {LONGEST_REGION}):")
    print("\n".join(names))
    print()
    for finding in [*findings, *parliament_open, *cfripper_open]:
        print(f"finding: {finding}")
    print(f"parliament: {len(parliament_open)} findings ({len(parliament_kept)} kept, each justified in tools/parliament.yaml)")
    print(
        f"cfripper: {len(cfripper_open)} unjustified findings ({len(cfripper_kept)} justified in tools/cfripper/filters.py; "
        f"policies cfripper cannot read: {', '.join(unread) or 'none'}, read by parliament)"
    )
    failed = [row for row in rows if row.status == "FAIL"]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} requirements pass; {checkov_line}; {len(findings)} cfn-lint findings")
    markdown = ["| requirement | enforced by | status |", "| --- | --- | --- |"]
    markdown += [f"| {row.requirement} | {row.enforced_by.replace('|', '/')} | {row.status} |" for row in rows]
    (args.out / "compliance.md").write_text("\n".join(markdown) + "\n", encoding="utf-8")
    (args.out / "compliance.json").write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.out / 'compliance.md'}, {args.out / 'compliance.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
