"""--plan's review of the IAM statements and security-group rules against the stack as deployed.

The change set says which resources change; what a reviewer needs is which permissions and which
network rules change, in the words of `riskbatch-review` (riskbatch_platform.analysis.review), against
what runs in the account, not against a git base that may not be what was deployed (as `cdk diff`
compares with the deployed stack). The deployed template is read with CloudFormation GetTemplate
(TemplateStage Original: the template as submitted, the form riskbatch-review compares;
https://docs.aws.amazon.com/cli/latest/reference/cloudformation/get-template.html).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from riskbatch_platform.analysis.review import Finding, finding_line, review_templates

SECURITY_CATEGORIES = ("iam", "network")


def deployed_template(cfn: Any, stack_name: str) -> dict[str, Any] | None:
    """The template the stack was last deployed with; None when there is no such stack."""
    try:
        body = cfn.get_template(StackName=stack_name, TemplateStage="Original")["TemplateBody"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in error.response["Error"].get("Message", ""):
            return None
        raise
    return json.loads(json.dumps(body)) if isinstance(body, dict) else json.loads(body)  # boto3 parses a JSON body itself


def security_changes(deployed: dict[str, Any], template: dict[str, Any]) -> list[Finding]:
    """The IAM statement and security-group changes from the deployed template to this one."""
    return [finding for finding in review_templates(deployed, template).findings if finding.category in SECURITY_CATEGORIES]


def live_review_lines(cfn: Any, stack_name: str, template: dict[str, Any]) -> list[str]:
    """What --plan prints after the change set: the security changes against the deployed stack."""
    deployed = deployed_template(cfn, stack_name)
    if deployed is None:
        return [f"\nIAM and security groups: {stack_name} is not deployed; every statement and rule is new (riskbatch-review lists them against git)"]
    found = security_changes(deployed, template)
    lines = [f"\nIAM and security-group changes against the deployed {stack_name} (GetTemplate), in riskbatch-review's words: {len(found) or 'none'}"]
    lines += [f"  {finding_line(finding)}" for finding in found]
    if any(finding.needs_security_review for finding in found):
        lines.append("  ⚠: needs a security reviewer before it is deployed")
    return lines
