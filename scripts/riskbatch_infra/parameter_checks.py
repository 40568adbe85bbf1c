"""Parameter values checked before CloudFormation sees them.

Two kinds of check:
- the template's own `Rules` section, evaluated the way CloudFormation does (CloudFormation
  refuses the stack operation when an assertion fails);
- orderings between numbers. CloudFormation's rule functions compare strings only (Fn::Equals,
  Fn::Contains, Fn::EachMemberIn, ...: CloudFormation user guide, "Rule functions",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-rules.html),
  so "minimum tasks <= maximum tasks" cannot be a rule. Without this check a bad pair deploys
  phases 1 and 2 and fails in phase 3 at the scalable target, or is silently capped by the
  scheduled action.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .resolve import Context, ResolveError, ValueLookup, evaluate_rules

# (lower, upper): the value of `lower` may not exceed the value of `upper`.
ORDERED_PARAMETERS: list[tuple[str, str]] = [
    ("RiskCalculationMinTasks", "RiskCalculationMaxTasks"),
    ("RiskCalculationWindowMinTasks", "RiskCalculationMaxTasks"),
    ("ReportGenerationMinTasks", "ReportGenerationMaxTasks"),
]


def ordering_problems(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    declared = template.get("Parameters", {})
    context = Context(template, {key: value for key, value in parameters.items() if key in declared})
    problems = []
    for lower, upper in ORDERED_PARAMETERS:
        if lower in declared and upper in declared and float(context.values[lower]) > float(context.values[upper]):
            problems.append(f"{lower}={context.values[lower]} exceeds {upper}={context.values[upper]}: the service could never reach its minimum")
    return problems


def parameter_problems(template: dict[str, Any], parameters: dict[str, str], lookup: ValueLookup | None = None) -> list[str]:
    """Everything wrong with these values for this template, one line each (empty: deployable)."""
    return evaluate_rules(template, parameters, lookup) + ordering_problems(template, parameters)


def aws_lookup(ec2: Any) -> ValueLookup:
    """Fn::ValueOf / Fn::ValueOfAll against the account (the attributes the templates' rules read)."""

    def look_up(kind: str, attribute: str, value: str) -> str:
        if kind == "AWS::EC2::Subnet::Id" and attribute in ("VpcId", "AvailabilityZone"):
            try:
                return str(ec2.describe_subnets(SubnetIds=[value])["Subnets"][0][attribute])
            except ClientError as error:  # a subnet that is not there is the caller's mistake: a refusal
                raise ResolveError(f"subnet {value}: {error.response['Error']['Code']}: {error.response['Error'].get('Message', '')}") from None
        raise ValueError(f"no lookup for {attribute} of {kind}")

    return look_up
