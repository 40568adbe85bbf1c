"""Requirement -> the tests that state it (file.py::test, or a guard rule's case): a mutant of the requirement
is killed only when one of these fails (test/mutation/run.py)."""

from __future__ import annotations

# requirement -> the tests that state it (file.py::test, or a guard rule's case); a mutant of the
# requirement is killed only when one of these fails (test/mutation/run.py).
REQUIREMENT_TESTS: dict[str, tuple[str, ...]] = {
    "IAM: KMS only on the stack's keys": (
        "test_iam.py::test_kms_permission_names_only_the_stacks_own_keys",
        "test_iam.py::test_every_permission_is_an_inline_policy_of_a_role_the_checks_read",
    ),
    "policies: TLS only": (
        "test_resource_policies.py::test_every_queue_and_topic_has_a_policy_that_denies_requests_without_tls",
        "test_policy_effects.py::test_every_queue_and_topic_refuses_plain_http_from_anyone_and_still_serves_tls",
    ),
    "alarms: each event notifies in time": (
        "test_alarm_effects.py::test_a_quiet_night_notifies_nobody",
        "test_alarm_effects.py::test_each_of_two_events_notifies_within_the_alarms_time",
        "test_alarm_effects.py::test_each_of_two_dead_letters_notifies_within_its_alarms_time",
        "test_alarm_effects.py::test_every_notifying_alarm_has_its_actions_on",
    ),
    "boundary: template and code agree": (
        "test_template_code_boundary.py::test_every_schedule_fires_on_time",
        "test_template_code_boundary.py::test_a_worker_hands_its_unit_back_before_ecs_kills_it",
        "test_template_code_boundary.py::test_a_stuck_job_is_acted_on_within_the_documented_bound",
        "test_template_code_boundary.py::test_no_alert_subscription_filters_what_it_receives",
        "test_template_code_boundary.py::test_every_event_pattern_is_exactly_the_expected_one",
        "test_template_code_boundary.py::test_every_metric_filter_is_exactly_the_expected_one",
        "test_dashboard.py::test_every_dashboard_metric_is_one_its_service_publishes",
    ),
    "policies: decided for another account": (
        "test_policy_effects.py::test_only_this_accounts_alarms_may_publish_to_the_topic",
        "test_policy_effects.py::test_a_queue_takes_events_from_this_stacks_rules_only",
        "test_policy_effects.py::test_eventbridge_writes_the_task_events_log_group_and_no_other",
    ),
    "task: no Linux capabilities": ("test_task_definitions.py::test_container_drops_every_linux_capability_and_adds_none",),
    "service: no ECS Exec": ("test_services.py::test_no_task_is_started_with_ecs_exec",),
    "queues: work outlives the night": ("test_events_and_queues.py::test_work_queue_keeps_messages_longer_than_the_overnight_window",),
    "key: principals of this account only": ("test_encryption.py::test_key_policy_names_only_this_account_its_roles_and_named_services",),
    "ECR: EmptyOnDelete": (
        "test_cluster_and_repositories.py::test_repository_empties_on_delete",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_empty_on_delete]",
    ),
    "ECR: immutable tags": ("test_cluster_and_repositories.py::test_repository_tags_are_immutable",),
    "ECR: keep last 10": (
        "test_cluster_and_repositories.py::test_repository_keeps_the_last_ten_images_of_any_tag",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_lifecycle_keeps_last_ten_images]",
    ),
    "ECR: scan on push": (
        "test_cluster_and_repositories.py::test_repository_scans_on_push",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecr_scan_on_push]",
    ),
    "IAM: * only for star-only actions": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_star_resource_only_for_star_only_actions]",
        "test_iam.py::test_star_resource_only_for_actions_aws_grants_on_star_only",
    ),
    "IAM: PassRole exactly the task's roles": ("test_iam.py::test_run_task_role_passes_exactly_the_two_roles_of_its_task_definition",),
    "IAM: RunTask conditioned on the cluster": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_run_task_limited_to_cluster_and_named_roles]",
        "test_iam.py::test_run_task_role_runs_only_its_task_definition_on_its_cluster",
    ),
    "IAM: S3 prefixes": ("test_iam.py::test_task_role_never_deletes_objects_or_touches_buckets_outside_the_parameters",),
    "IAM: execution role pulls its own repository": ("test_iam.py::test_execution_role_pulls_from_its_own_repository_only",),
    "IAM: execution role writes its own log group": ("test_iam.py::test_execution_role_writes_its_own_log_group_only",),
    "IAM: no Administrator": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_no_admin_or_poweruser_policies]",
        "test_iam.py::test_role_has_no_administrator_or_power_user_policy",
    ),
    "IAM: no object deletion": ("test_iam.py::test_task_role_never_deletes_objects_or_touches_buckets_outside_the_parameters",),
    "IAM: no wildcard actions": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[iam_no_wildcard_actions]",
        "test_iam.py::test_role_allows_no_wildcard_action",
    ),
    "IAM: one task role per job": ("test_task_definitions.py::test_task_has_its_own_task_and_execution_roles",),
    "SNS: KMS": (
        "test_encryption.py::test_topic_is_encrypted_with_the_key",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sns_topics_encrypted]",
    ),
    "SQS: DLQ after 3 receives": (
        "test_events_and_queues.py::test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_redrive_to_dead_letter_queues]",
    ),
    "SQS: KMS": (
        "test_encryption.py::test_queue_is_encrypted_with_the_key",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_encrypted]",
    ),
    "SQS: redrive to DLQ": (
        "test_events_and_queues.py::test_work_queue_redrives_to_a_dead_letter_queue_after_three_receives",
        "test_guard_rules.py::test_rule_passes_on_the_stack[sqs_queues_redrive_to_dead_letter_queues]",
        "test_services.py::test_service_consumes_a_queue_that_redrives_to_a_dead_letter_queue",
    ),
    "SQS: visibility longer than a unit": ("test_events_and_queues.py::test_work_queue_visibility_outlasts_a_unit_and_a_graceful_stop",),
    "cluster: Container Insights": ("test_cluster_and_repositories.py::test_cluster_has_container_insights",),
    "cluster: FARGATE and FARGATE_SPOT associated": ("test_cluster_and_repositories.py::test_cluster_uses_fargate_and_fargate_spot_with_a_default_strategy",),
    "cluster: no EC2": (
        "test_cluster_and_repositories.py::test_no_ec2_capacity_anywhere",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_fargate_capacity_only]",
    ),
    "completion: events may deliver to the report queue": ("test_events_and_queues.py::test_queue_targets_may_receive_from_their_rule_only",),
    "completion: routes to the report queue": (
        "test_events_and_queues.py::test_completion_rule_routes_run_completed_from_the_workers_bus_to_the_report_queue",
    ),
    "events: dead-letter queue": ("test_events_and_queues.py::test_delivery_target_retries_and_dead_letters",),
    "ingestion: input bucket and prefix": ("test_events_and_queues.py::test_ingestion_rule_matches_objects_created_in_the_input_bucket_under_the_prefix",),
    "ingestion: no public IP": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_public_ip]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "ingestion: platform version": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_platform_version_1_4_0_or_later]",
        "test_services.py::test_platform_version_is_1_4_0_or_latest",
    ),
    "ingestion: retry policy": ("test_events_and_queues.py::test_delivery_target_retries_and_dead_letters",),
    "events: retries last until the deadline": ("test_retry_window.py::test_every_target_retries_until_the_deadline",),
    "ingestion: strategy, no launch type": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_launch_type_with_capacity_provider_strategy]",
        "test_services.py::test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type",
    ),
    "ingestion: three subnets": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_tasks_in_three_subnets]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "ingestion: transformer hands bucket and key to the container": (
        "test_events_and_queues.py::test_ingestion_input_transformer_hands_bucket_and_key_to_the_container",
    ),
    "key: 7-day deletion window": ("test_encryption.py::test_key_rotates_and_can_be_deleted_within_seven_days",),
    "key: EventBridge may use it": (
        "test_encryption.py::test_alarms_and_eventbridge_may_use_the_key",
        "test_encryption.py::test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries",
    ),
    "key: alarms may use it": (
        "test_encryption.py::test_alarms_and_eventbridge_may_use_the_key",
        "test_encryption.py::test_alarms_may_use_the_key_within_this_account",
        "test_encryption.py::test_the_key_policy_admits_each_service_with_the_condition_keys_its_request_carries",
    ),
    "key: alias naming": (
        "test_encryption.py::test_key_has_an_alias_following_the_naming_rule",
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_is_built_from_the_suffix",
    ),
    "key: logs for every stack log group": ("test_encryption.py::test_logs_may_use_the_key_only_for_this_stacks_log_groups",),
    "key: logs only under the encryption context": (
        "test_encryption.py::test_logs_may_use_the_key_only_for_this_stacks_log_groups",
        "test_guard_rules.py::test_rule_passes_on_the_stack[kms_key_policy_allows_logs_with_encryption_context]",
        "test_resource_policies.py::test_a_service_allowed_into_a_resource_policy_is_held_to_its_source",
    ),
    "key: rotation": (
        "test_encryption.py::test_key_rotates_and_can_be_deleted_within_seven_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[kms_key_policy_allows_logs_with_encryption_context]",
    ),
    "lifecycle: no Retain": (
        "test_audit_retention.py::test_every_resource_is_deleted_with_the_stack_in_every_environment",
        "test_audit_retention.py::test_the_template_declares_no_transform",
        "test_guard_rules.py::test_rule_passes_on_the_stack[no_retain_policies]",
        "test_network_outputs_and_lifecycle.py::test_resource_is_deleted_with_the_stack",
    ),
    "outliving data: no resource of the stack": (
        "test_outliving_data.py::test_no_data_store_that_outlives_the_stack_depends_on_a_resource_of_the_stack",
        "test_audit_retention.py::test_the_audit_copy_lands_in_the_output_bucket_under_audit",
    ),
    "outliving data: the output bucket's key": (
        "test_outliving_data.py::test_every_role_that_uses_the_output_bucket_may_use_its_key_through_s3_only",
        "test_outliving_data.py::test_no_grant_to_encrypt_through_s3_names_a_key_of_the_stack",
    ),
    "IAM: what each call depends on": ("test_iam.py::test_a_role_is_granted_what_each_of_its_calls_depends_on",),
    "probes: only when asked for": (
        "test_outliving_data.py::test_a_task_role_touches_probes_only_in_a_stack_deployed_for_the_probes",
        "test_outliving_data.py::test_every_probe_statement_is_under_the_probes_condition",
    ),
    "logs: 30-day retention": (
        "test_encryption.py::test_log_group_is_encrypted_with_the_key_and_kept_30_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[log_groups_retention_30_days]",
    ),
    "logs: KMS": (
        "test_encryption.py::test_log_group_is_encrypted_with_the_key_and_kept_30_days",
        "test_guard_rules.py::test_rule_passes_on_the_stack[log_groups_encrypted_with_customer_key]",
    ),
    "monitoring: > 5 %": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[cloudwatch_failure_rate_alarm_with_action]",
        "test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",
    ),
    "monitoring: DLQ alarms notify": (
        "test_monitoring.py::test_alarms_that_are_not_scaling_triggers_notify_the_topic",
        "test_monitoring.py::test_every_dead_letter_queue_holding_messages_alarms_to_the_topic",
        "test_monitoring.py::test_every_dead_letter_queue_alarms_on_each_new_dead_letter",
        "test_monitoring.py::test_two_dead_letters_an_hour_apart_give_two_notifications",
    ),
    "monitoring: a failure is a stopped task that failed": ("test_monitoring.py::test_metric_filters_count_stopped_and_failed_tasks",),
    "monitoring: alarm reads the filters' metrics": ("test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",),
    "monitoring: events lost beyond the DLQ alarm": ("test_monitoring.py::test_rule_delivery_failures_alarm_to_the_topic",),
    "monitoring: exit 0 is not a failure": ("test_monitoring.py::test_metric_filters_count_stopped_and_failed_tasks",),
    "monitoring: failed-invocation alarms": ("test_monitoring.py::test_rule_delivery_failures_alarm_to_the_topic",),
    "monitoring: failure alarm has an action": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[cloudwatch_failure_rate_alarm_with_action]",
        "test_monitoring.py::test_alarms_that_are_not_scaling_triggers_notify_the_topic",
        "test_monitoring.py::test_failure_rate_alarm_notifies_the_topic",
    ),
    "monitoring: logs resource policy for EventBridge": ("test_monitoring.py::test_eventbridge_may_write_to_the_task_events_log_group",),
    "monitoring: over 10 minutes": ("test_monitoring.py::test_failure_rate_alarm_divides_the_filters_metrics_over_ten_minutes",),
    "monitoring: rule metrics by the rule's name": ("test_events_and_queues.py::test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus",),
    "monitoring: the task events log policy can be shared": ("test_monitoring.py::test_task_events_log_policy_can_be_left_to_a_shared_one",),
    "naming: AWS constraints (no sg- prefix)": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ec2_security_group_name_not_reserved]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region",
    ),
    "naming: role names carry the region": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_role_names_carry_the_region",
    ),
    "naming: suffix": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[resources_named_with_environment_suffix]",
        "test_naming.py::test_name_follows_type_purpose_suffix",
        "test_naming.py::test_name_is_built_from_the_suffix",
    ),
    "naming: {type}-{purpose}-{suffix}": ("test_naming.py::test_name_follows_type_purpose_suffix",),
    "network: egress 443 only": ("test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only",),
    "network: no ingress": ("test_network_outputs_and_lifecycle.py::test_task_security_group_has_no_ingress_and_https_egress_only",),
    "network: private-DNS endpoints only in the per-VPC stack": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[vpc_private_dns_endpoints_in_network_stack]",
        "test_network_outputs_and_lifecycle.py::test_no_interface_endpoint_in_the_environment_stack",
    ),
    "outputs: a custom-bus rule's name, not its Ref": (
        "test_events_and_queues.py::test_no_name_is_taken_from_the_ref_of_a_rule_on_a_custom_bus",
        "test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",
    ),
    "outputs: exported with the suffix": ("test_network_outputs_and_lifecycle.py::test_output_is_described_and_exported_with_the_suffix",),
    "outputs: what the scripts need": ("test_network_outputs_and_lifecycle.py::test_output_exposes_the_resource",),
    "parameters: VpcId typed": ("test_parameters.py::test_required_parameter_is_declared_with_its_type",),
    "parameters: constraints": ("test_parameters.py::test_free_text_parameters_carry_a_constraint",),
    "parameters: descriptions": ("test_parameters.py::test_every_parameter_has_a_description",),
    "parameters: interface groups": ("test_parameters.py::test_every_parameter_sits_in_exactly_one_interface_group",),
    "parameters: rules refuse a subnet given twice": ("test_parameters.py::test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message",),
    "parameters: rules refuse one bucket for input and output": ("test_parameters.py::test_a_bad_parameter_set_breaks_its_rule_with_a_clear_message",),
    "parameters: subnets typed": ("test_parameters.py::test_required_parameter_is_declared_with_its_type",),
    "parameters: suffix constraint": ("test_parameters.py::test_suffix_pattern_rejects",),
    "parameters: suffix keeps names within limits": ("test_naming.py::test_name_meets_the_aws_constraints_with_the_longest_suffix_and_region",),
    "parameters: switches": ("test_parameters.py::test_switches_only_take_true_or_false",),
    "policies: documents readable by the checks": ("test_resource_policies.py::test_every_policy_document_is_an_object_that_the_checks_can_read",),
    "policies: nobody allows everyone": ("test_resource_policies.py::test_no_allow_names_everyone_in_any_form",),
    "policies: services held to their source": ("test_resource_policies.py::test_a_service_allowed_into_a_resource_policy_is_held_to_its_source",),
    "scaling: 300 s cooldowns": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_cpu_target_tracking]",
        "test_services.py::test_service_tracks_70_percent_cpu_with_300_second_cooldowns",
    ),
    "scaling: 70 % CPU": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_cpu_target_tracking]",
        "test_services.py::test_service_tracks_70_percent_cpu_with_300_second_cooldowns",
    ),
    "scaling: New York window": ("test_services.py::test_service_scales_up_for_the_overnight_window_in_new_york_time",),
    "scaling: backlog of its own queue": ("test_services.py::test_service_starts_from_zero_on_its_queue_backlog",),
    "scaling: target points at its service": ("test_services.py::test_service_has_one_scalable_target_on_desired_count",),
    "service: 120 s grace period": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_grace_period_backed_by_health_check]",
        "test_services.py::test_service_grace_period_is_backed_by_a_container_health_check",
    ),
    "service: AZ rebalancing": ("test_services.py::test_service_rebalances_across_zones",),
    "service: MinimumHealthyPercent 100": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_have_circuit_breaker]",
        "test_services.py::test_service_rolls_back_failed_deployments_without_dropping_capacity",
    ),
    "service: circuit breaker with rollback": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_have_circuit_breaker]",
        "test_services.py::test_service_rolls_back_failed_deployments_without_dropping_capacity",
    ),
    "service: depends on the capacity providers": ("test_services.py::test_service_waits_for_images_and_capacity_providers",),
    "service: first deployment without services": ("test_services.py::test_service_waits_for_images_and_capacity_providers",),
    "service: grace period backed by a health check": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_services_grace_period_backed_by_health_check]",
        "test_services.py::test_service_grace_period_is_backed_by_a_container_health_check",
        "test_task_definitions.py::test_container_health_check_runs_the_health_command",
    ),
    "service: no DesiredCount": ("test_services.py::test_service_leaves_desired_count_to_scaling",),
    "service: no placement strategies": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_placement_constraints_or_strategies]",
        "test_services.py::test_has_no_placement_constraints_or_strategies",
    ),
    "service: no public IP": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_public_ip]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "service: strategy, no launch type": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_no_launch_type_with_capacity_provider_strategy]",
        "test_services.py::test_uses_a_fargate_capacity_provider_strategy_and_never_a_launch_type",
    ),
    "service: three subnets": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_tasks_in_three_subnets]",
        "test_services.py::test_runs_in_the_three_private_subnets_without_public_ip",
    ),
    "task: Fargate only": (
        "test_cluster_and_repositories.py::test_no_ec2_capacity_anywhere",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_definitions_fargate_only]",
        "test_task_definitions.py::test_task_runs_on_fargate_only_with_awsvpc",
    ),
    "task: StopTimeout 120": ("test_task_definitions.py::test_container_is_hardened",),
    "task: awsvpc": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_definitions_fargate_only]",
        "test_task_definitions.py::test_task_runs_on_fargate_only_with_awsvpc",
    ),
    "task: container hard memory limit": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_cpu_memory_defined]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
    ),
    "task: no oversubscription": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
    ),
    "task: non-root user": (
        "test_images.py::test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image",
        "test_images.py::test_the_image_runs_as_the_task_definitions_user",
        "test_task_definitions.py::test_container_is_hardened",
    ),
    "task: not privileged": ("test_task_definitions.py::test_container_is_hardened",),
    "task: own log group": (
        "test_iam.py::test_execution_role_writes_its_own_log_group_only",
        "test_task_definitions.py::test_container_logs_to_its_own_log_group",
    ),
    "task: read-only root": ("test_task_definitions.py::test_container_is_hardened",),
    "task: scratch volume": (
        "test_images.py::test_every_path_the_jobs_write_lies_in_a_writable_volume",
        "test_images.py::test_every_writable_mount_of_a_non_root_container_is_a_volume_of_its_image",
        "test_task_definitions.py::test_read_only_container_has_a_writable_scratch_volume",
    ),
    "task: valid Fargate pair": (
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_containers_within_task_size]",
        "test_guard_rules.py::test_rule_passes_on_the_stack[ecs_task_size_valid_fargate_pair]",
        "test_task_definitions.py::test_containers_have_cpu_and_hard_memory_within_the_task",
        "test_task_definitions.py::test_task_size_is_a_valid_fargate_pair",
    ),
}
