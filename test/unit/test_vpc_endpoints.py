"""lib/VpcEndpoints.json: the endpoints a VPC without a NAT needs, once per VPC, shared by every environment.

Interface endpoints with private DNS are one per service per VPC: private DNS associates with the
VPC a private hosted zone for the service's default DNS name (EC2 API reference, CreateVpcEndpoint,
PrivateDnsEnabled: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html),
and a second endpoint for the same service would claim the same name ("conflicting DNS domain").
So they cannot live in the stack deployed once per environment suffix.
"""

from __future__ import annotations

import pytest

from riskbatch_platform.analysis.resolve import resolve
from test.conftest import the_template
from test.template_model import REPO_ROOT, REQUIRED_VALUES, Resource, Template, as_list, load_template, referenced_id, role_statements

ENDPOINTS = Template(load_template(REPO_ROOT / "lib" / "VpcEndpoints.json"))
SUBNETS = {"PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id"}
VALUES = {name: REQUIRED_VALUES[name] for name in ("VpcId", "PrivateSubnet1Id", "PrivateSubnet2Id", "PrivateSubnet3Id")} | {"ClientCidr": "10.0.0.0/16"}
# What a job's roles call -> the endpoint services that call needs (ECR pulls take the API, the
# registry and S3 for the layers). Task protection is asked of the ECS agent endpoint inside the
# task; any other ECS call (the deadline check lists, describes and stops tasks) is the ECS API's,
# whose interface endpoint is com.amazonaws.<region>.ecs (https://docs.aws.amazon.com/AmazonECS/latest/userguide/vpc-endpoints.html).
AGENT_ACTIONS = {"ecs:UpdateTaskProtection", "ecs:GetTaskProtection"}
SERVICES_FOR_PREFIX = {
    "ecr": {"ecr.api", "ecr.dkr", "s3"},
    "logs": {"logs"},
    "sqs": {"sqs"},
    "sns": {"sns"},
    "kms": {"kms"},
    "events": {"events"},
    "s3": {"s3"},
    "servicequotas": {"servicequotas"},
    "ec2": {"ec2"},
    "cloudwatch": {"monitoring"},  # botocore's service model: CloudWatch's endpoint prefix is "monitoring"
    "ecs": {"ecs"},
    # authorises ECR's DescribeImageScanFindings under enhanced scanning; the task itself calls ECR only
    # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-iam.html)
    "inspector2": set(),
}


def _service(endpoint: Resource) -> str:
    return endpoint.props["ServiceName"]["Fn::Sub"].split("${AWS::Region}.", 1)[1]


def _interface_endpoints() -> list[Resource]:
    return [e for e in ENDPOINTS.of_type("AWS::EC2::VPCEndpoint") if e.props["VpcEndpointType"] == "Interface"]


def test_every_service_the_jobs_call_has_an_endpoint() -> None:
    # The roles of the tasks (trusted by ECS tasks); the EventBridge role acts outside the VPC.
    roles = [r for r in the_template().of_type("AWS::IAM::Role") if "ecs-tasks.amazonaws.com" in str(r.props["AssumeRolePolicyDocument"])]
    actions = {action for role in roles for statement in role_statements(role) for action in as_list(statement["Action"])} - AGENT_ACTIONS
    prefixes = {action.split(":", 1)[0] for action in actions}
    needed = set().union(*(SERVICES_FOR_PREFIX.get(prefix, set()) for prefix in prefixes))
    assert prefixes <= set(SERVICES_FOR_PREFIX), "a job calls a service this table does not know"
    assert needed <= {_service(endpoint) for endpoint in ENDPOINTS.of_type("AWS::EC2::VPCEndpoint")}


@pytest.mark.parametrize("endpoint", _interface_endpoints(), ids=repr)
def test_interface_endpoint_has_private_dns_in_the_three_subnets_behind_its_group(endpoint: Resource) -> None:
    assert endpoint.props["PrivateDnsEnabled"] is True
    assert {referenced_id(subnet) for subnet in endpoint.props["SubnetIds"]} == SUBNETS
    (group,) = endpoint.props["SecurityGroupIds"]
    assert ENDPOINTS.get(referenced_id(group)).type == "AWS::EC2::SecurityGroup"


@pytest.mark.parametrize("endpoint", _interface_endpoints(), ids=repr)
def test_every_interface_endpoint_can_be_left_out_by_its_own_described_parameter(endpoint: Resource) -> None:
    """A VPC that already has a private-DNS endpoint for a service cannot take a second one (one per
    service per VPC: the module's first lines), so each endpoint is created only when its parameter is
    true, as the S3 gateway endpoint only with route tables."""
    condition = ENDPOINTS.doc["Conditions"][endpoint.body["Condition"]]
    (reference, value) = condition["Fn::Equals"]
    parameter = ENDPOINTS.parameters()[reference["Ref"]]
    assert reference["Ref"] == f"Create{endpoint.logical_id}" and value == "true"
    assert (parameter["Default"], parameter["AllowedValues"]) == ("true", ["true", "false"])
    assert _service(endpoint) in parameter["Description"] and "already has" in parameter["Description"]


@pytest.mark.parametrize("endpoint", _interface_endpoints(), ids=repr)
def test_an_endpoint_left_out_is_not_created_and_its_output_goes_with_it(endpoint: Resource) -> None:
    switched_off = resolve(ENDPOINTS.doc, {**VALUES, f"Create{endpoint.logical_id}": "false"})
    assert endpoint.logical_id not in switched_off["Resources"] and f"{endpoint.logical_id}Id" not in switched_off["Outputs"]
    others = {e.logical_id for e in _interface_endpoints()} - {endpoint.logical_id}
    assert others <= set(switched_off["Resources"]) and all(f"{other}Id" in switched_off["Outputs"] for other in others)


def test_endpoint_group_takes_https_from_the_client_range_only_and_sends_nothing() -> None:
    (group,) = ENDPOINTS.of_type("AWS::EC2::SecurityGroup")
    (ingress,) = group.props["SecurityGroupIngress"]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    assert ingress["CidrIp"] == {"Ref": "ClientCidr"}
    (egress,) = group.props["SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32"  # matches nothing: replaces the default allow-all
    assert ENDPOINTS.of_type("AWS::EC2::SecurityGroupIngress") == [] and ENDPOINTS.of_type("AWS::EC2::SecurityGroupEgress") == []


def test_s3_gateway_endpoint_exists_only_with_route_tables() -> None:
    (gateway,) = [e for e in ENDPOINTS.of_type("AWS::EC2::VPCEndpoint") if e.props["VpcEndpointType"] == "Gateway"]
    assert _service(gateway) == "s3"
    assert gateway.props["RouteTableIds"] == {"Ref": "PrivateRouteTableIds"}
    assert ENDPOINTS.parameters()["PrivateRouteTableIds"]["Type"] == "CommaDelimitedList"
    assert gateway.body["Condition"] == "HasPrivateRouteTables"


@pytest.mark.parametrize(("route_tables", "expected"), [("", None), ("rtb-1", ["rtb-1"]), ("rtb-1,rtb-2", ["rtb-1", "rtb-2"])])
def test_an_empty_route_table_list_never_reaches_the_gateway(route_tables: str, expected: list[str] | None) -> None:
    """An empty CommaDelimitedList is [""] in CloudFormation; the gateway must then not be created at all."""
    resolved = resolve(ENDPOINTS.doc, {**VALUES, "PrivateRouteTableIds": route_tables})
    gateways = [r for r in resolved["Resources"].values() if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"]["VpcEndpointType"] == "Gateway"]
    assert [gateway["Properties"]["RouteTableIds"] for gateway in gateways] == ([expected] if expected else [])
    assert ("S3GatewayEndpointId" in resolved["Outputs"]) == bool(expected)


@pytest.mark.parametrize("output", sorted(ENDPOINTS.doc["Outputs"]))
def test_output_is_described_and_exported_with_the_suffix(output: str) -> None:
    body = ENDPOINTS.doc["Outputs"][output]
    assert body.get("Description")
    assert body["Export"]["Name"]["Fn::Sub"].endswith("-${EnvironmentSuffix}")
    for logical_id in ENDPOINTS.referenced_resources(body["Value"]):
        assert body.get("Condition") == ENDPOINTS.resources[logical_id].get("Condition")


def test_parameters_are_described_and_grouped() -> None:
    groups = ENDPOINTS.doc["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert sorted(name for group in groups for name in group["Parameters"]) == sorted(ENDPOINTS.parameters())
    assert all(body.get("Description") for body in ENDPOINTS.parameters().values())


@pytest.mark.parametrize("resource", ENDPOINTS.all_resources(), ids=repr)
def test_resource_is_deleted_with_the_stack(resource: Resource) -> None:
    assert resource.body.get("DeletionPolicy", "Delete") == "Delete"
    assert resource.body.get("UpdateReplacePolicy", "Delete") == "Delete"
