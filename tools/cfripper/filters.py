"""cfripper: the findings this project keeps, each with its reason (read with --rules-filters-folder).

Only what the reason covers is allowed: one rule, on one resource.
"""

from cfripper.config.filter import Filter
from cfripper.model.enums import RuleMode

FILTERS = [
    Filter(
        reason=(
            "Key policy of the stack's customer-managed key. kms:* for the account root is the default key policy statement "
            "that keeps the key administrable through IAM (AWS KMS developer guide, 'Default key policy'); the wildcard "
            "families (kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey*) are the ones the CloudWatch Logs "
            "guide documents for log-group encryption, granted only under the encryption-context condition on this stack's "
            "log groups, and to CloudWatch and EventBridge only under aws:SourceAccount."
        ),
        rule_mode=RuleMode.ALLOWED,
        eval={"and": [{"eq": [{"ref": "logical_id"}, "RiskBatchKey"]}, {"eq": [{"ref": "resource.Type"}, "AWS::KMS::Key"]}]},
        rules={"GenericResourceWildcardPolicyRule"},
    ),
    Filter(
        reason=(
            "Role of the pre-night check task. servicequotas:GetServiceQuota has no resource type in the Service "
            "Authorization Reference ('Actions, resources, and condition keys for Service Quotas'), so it is granted on '*' "
            "alone (parliament requires '*' for it too); the statement grants that one read-only action and nothing else."
        ),
        rule_mode=RuleMode.ALLOWED,
        eval={"and": [{"eq": [{"ref": "logical_id"}, "PreNightCheckTaskRole"]}, {"eq": [{"ref": "action"}, "servicequotas:GetServiceQuota"]}]},
        rules={"WildcardResourceRule"},
    ),
    Filter(
        reason=(
            "Role of the deadline check task. ecs:ListTasks is authorised on container instances in the Service "
            "Authorization Reference, which a Fargate cluster has none of; it is granted on '*' only under the "
            "ecs:cluster condition of this stack's cluster (the form aws-cdk uses, aws/aws-cdk#3199), to find the "
            "night's one-shot tasks that outlived their deadline. DescribeTasks and StopTask name the cluster's tasks."
        ),
        rule_mode=RuleMode.ALLOWED,
        eval={"and": [{"eq": [{"ref": "logical_id"}, "DeadlineCheckTaskRole"]}, {"eq": [{"ref": "action"}, "ecs:ListTasks"]}]},
        rules={"WildcardResourceRule"},
    ),
    Filter(
        reason=(
            "Role of the pre-night check task. logs:DescribeResourcePolicies lists the account's logs resource policies "
            "(the check reads whether one lets EventBridge write the task events log group); the request names no "
            "resource, and parliament requires '*' for it. The statement grants that one read-only action and nothing else."
        ),
        rule_mode=RuleMode.ALLOWED,
        eval={"and": [{"eq": [{"ref": "logical_id"}, "PreNightCheckTaskRole"]}, {"eq": [{"ref": "action"}, "logs:DescribeResourcePolicies"]}]},
        rules={"WildcardResourceRule"},
    ),
    Filter(
        reason=(
            "Role of the pre-night check task. inspector2:ListFindings has no resource type in the Service "
            "Authorization Reference (Amazon Inspector), and ECR's DescribeImageScanFindings needs it under enhanced "
            "scanning ('IAM permissions required for enhanced scanning in Amazon ECR'); the statement grants that one "
            "read-only action and nothing else."
        ),
        rule_mode=RuleMode.ALLOWED,
        eval={"and": [{"eq": [{"ref": "logical_id"}, "PreNightCheckTaskRole"]}, {"eq": [{"ref": "action"}, "inspector2:ListFindings"]}]},
        rules={"WildcardResourceRule"},
    ),
]
