"""Parameter values checked before CloudFormation sees them.

Three kinds of check:
- the template's own `Rules` section, evaluated the way CloudFormation does (CloudFormation
  refuses the stack operation when an assertion fails);
- the subnets of interface endpoints in distinct Availability Zones, looked up in the account:
  EC2 refuses two subnets of one zone for an interface endpoint (DuplicateSubnetsInSameZone, "For
  an interface VPC endpoint, you can specify only one subnet per Availability Zone", EC2 API
  reference, error codes), and only after the stack has started creating them;
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

from riskbatch_platform.analysis.resolve import Context, ResolveError, ValueLookup, evaluate_rules

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


SUBNET_PARAMETERS = ("PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id")


def _has_interface_endpoints(template: dict[str, Any]) -> bool:
    return any(
        body["Type"] == "AWS::EC2::VPCEndpoint" and body.get("Properties", {}).get("VpcEndpointType") == "Interface"
        for body in template.get("Resources", {}).values()
    )


def zone_problems(template: dict[str, Any], parameters: dict[str, str], lookup: ValueLookup | None) -> list[str]:
    """The interface endpoints' three subnets must lie in three Availability Zones (skipped offline)."""
    declared = template.get("Parameters", {})
    if lookup is None or not _has_interface_endpoints(template) or not all(name in declared for name in SUBNET_PARAMETERS):
        return []
    subnets = {name: parameters.get(name, "") for name in SUBNET_PARAMETERS}
    if len(set(subnets.values())) < len(subnets):
        return []  # the same subnet twice: the template's own rule says so
    zones: dict[str, list[str]] = {}
    for name, subnet in subnets.items():
        try:
            zone = lookup("AWS::EC2::Subnet::Id", "AvailabilityZone", subnet)
        except Exception as error:  # a subnet the account does not have: say which, never a traceback
            return [f"{name}={subnet}: cannot read its Availability Zone ({error})"]
        zones.setdefault(zone, []).append(f"{name}={subnet}")
    return [
        f"{' and '.join(names)} are both in {zone}: an interface endpoint takes one subnet per Availability Zone "
        "(EC2 refuses the stack with DuplicateSubnetsInSameZone); give one private subnet in each of three zones"
        for zone, names in zones.items()
        if len(names) > 1
    ]


def parameter_problems(template: dict[str, Any], parameters: dict[str, str], lookup: ValueLookup | None = None) -> list[str]:
    """Everything wrong with these values for this template, one line each (empty: deployable)."""
    return evaluate_rules(template, parameters, lookup) + ordering_problems(template, parameters) + zone_problems(template, parameters, lookup)


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
