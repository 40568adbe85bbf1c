"""EC2: network interfaces' private DNS names, and the character set AWS allows in security-group descriptions.

Each fix says which kind it is (a defect, a missing rule, a stand-in): see the package's first lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .patching import Patcher, fix


@fix
def network_interfaces_have_a_private_dns_name(patch: Patcher) -> None:
    """Defect. moto's RunTask of an awsvpc task reads a network interface's private DNS name, which
    its model never sets, and fails with an AttributeError: no Fargate task could be run. The fix
    derives the name from the private address, in EC2's format (ip-10-0-1-5.ec2.internal)."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    def private_dns_name(self: Any) -> str:
        domain = "ec2.internal" if self.ec2_backend.region_name == "us-east-1" else f"{self.ec2_backend.region_name}.compute.internal"
        return f"ip-{self.private_ip_address.replace('.', '-')}.{domain}"

    patch.set(NetworkInterface, "private_dns_name", property(private_dns_name))


@fix
def ec2_refuses_descriptions_outside_its_character_set(patch: Patcher) -> None:
    """Missing rule. EC2 allows only a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$* (at most 255) in security-group
    and rule descriptions (CreateSecurityGroup, IpRange:
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html) and answers anything
    else with InvalidParameterValue; moto accepts any text, and its CloudFormation handler drops rule
    descriptions unchecked. The fix checks CreateSecurityGroup, AuthorizeSecurityGroupIngress/Egress
    and the group's inline rules from CloudFormation with the constraint table of naming.py."""
    from moto.ec2.exceptions import InvalidParameterValue
    from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupBackend

    from riskbatch_platform.analysis.naming import EC2_DESCRIPTION, EC2_DESCRIPTION_MAX

    def check(description: Any, field: str) -> None:
        import re

        if description is None:
            return
        if len(str(description)) > EC2_DESCRIPTION_MAX or not re.fullmatch(EC2_DESCRIPTION, str(description)):
            allowed = "a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*"
            raise InvalidParameterValue(f"Invalid {field}: {description!r}. Valid descriptions are strings less than 256 characters from: {allowed}")

    def rule_descriptions(*collections: Any) -> Iterator[Any]:
        for collection in collections:
            for item in collection or []:
                if isinstance(item, dict):
                    yield item.get("Description")

    original_create = SecurityGroupBackend.create_security_group

    def create_security_group(self: Any, name: str, description: str, *args: Any, **kwargs: Any) -> Any:
        check(description, "group description")
        return original_create(self, name, description, *args, **kwargs)

    def authorising(original: Callable[..., Any]) -> Callable[..., Any]:
        def authorise(self: Any, *args: Any, **kwargs: Any) -> Any:
            for description in rule_descriptions(kwargs.get("ip_ranges"), kwargs.get("source_groups"), kwargs.get("prefix_list_ids")):
                check(description, "rule description")
            return original(self, *args, **kwargs)

        return authorise

    original_cfn = SecurityGroup.create_from_cloudformation_json.__func__

    def create_from_cloudformation(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        check(properties.get("GroupDescription"), "group description")
        for description in rule_descriptions(properties.get("SecurityGroupIngress"), properties.get("SecurityGroupEgress")):
            check(description, "rule description")
        return original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    patch.set(SecurityGroupBackend, "create_security_group", create_security_group)
    patch.set(SecurityGroupBackend, "authorize_security_group_ingress", authorising(SecurityGroupBackend.authorize_security_group_ingress))
    patch.set(SecurityGroupBackend, "authorize_security_group_egress", authorising(SecurityGroupBackend.authorize_security_group_egress))
    patch.set(SecurityGroup, "create_from_cloudformation_json", classmethod(create_from_cloudformation))


@fix
def ec2_offers_the_service_quotas_endpoint_service(patch: Patcher) -> None:
    """Defect. Service Quotas is offered as an interface endpoint service, com.amazonaws.<region>.servicequotas
    ("AWS services that integrate with AWS PrivateLink",
    https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html), and the VPC
    endpoints' template creates one; moto's list of endpoint services lacks it, so DescribeVpcEndpointServices
    answered InvalidServiceName and preflight said the Region does not offer it. The fix adds it to moto's
    list, offered in every zone as moto offers the others (and empties moto's cache of the list)."""
    from moto.ec2.models import vpcs

    patch.set(vpcs, "AWS_ENDPOINT_SERVICES", sorted({*vpcs.AWS_ENDPOINT_SERVICES, "servicequotas"}))
    patch.set(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
