"""Cluster with Container Insights and Fargate capacity providers; ECR repositories that scan, expire and empty."""

from __future__ import annotations

import json

import pytest

from test.conftest import the_template
from test.template_model import Resource, Template, referenced_id

EC2_CAPACITY_TYPES = {
    "AWS::ECS::CapacityProvider",
    "AWS::AutoScaling::AutoScalingGroup",
    "AWS::AutoScaling::LaunchConfiguration",
    "AWS::EC2::LaunchTemplate",
    "AWS::EC2::Instance",
}


@pytest.mark.parametrize("cluster", the_template().of_type("AWS::ECS::Cluster"), ids=repr)
def test_cluster_has_container_insights(cluster: Resource) -> None:
    settings = {item["Name"]: item["Value"] for item in cluster.props["ClusterSettings"]}
    assert settings.get("containerInsights") in {"enabled", "enhanced"}


@pytest.mark.parametrize("cluster", the_template().of_type("AWS::ECS::Cluster"), ids=repr)
def test_cluster_uses_fargate_and_fargate_spot_with_a_default_strategy(template: Template, cluster: Resource) -> None:
    associations = [
        association
        for association in template.of_type("AWS::ECS::ClusterCapacityProviderAssociations")
        if referenced_id(association.props["Cluster"]) == cluster.logical_id
    ]
    assert len(associations) == 1
    props = associations[0].props
    assert sorted(props["CapacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert props["DefaultCapacityProviderStrategy"]
    assert {item["CapacityProvider"] for item in props["DefaultCapacityProviderStrategy"]} <= {"FARGATE", "FARGATE_SPOT"}


def test_no_ec2_capacity_anywhere(template: Template) -> None:
    assert not [resource for resource in template.all_resources() if resource.type in EC2_CAPACITY_TYPES]
    assert "EC2" not in json.dumps(template.find("$..LaunchType"))
    assert "EC2" not in json.dumps(template.find("$..RequiresCompatibilities"))


@pytest.mark.parametrize("repository", the_template().of_type("AWS::ECR::Repository"), ids=repr)
def test_repository_scans_on_push(repository: Resource) -> None:
    assert repository.props["ImageScanningConfiguration"]["ScanOnPush"] is True


@pytest.mark.parametrize("repository", the_template().of_type("AWS::ECR::Repository"), ids=repr)
def test_repository_tags_are_immutable(repository: Resource) -> None:
    assert repository.props["ImageTagMutability"] == "IMMUTABLE"


@pytest.mark.parametrize("repository", the_template().of_type("AWS::ECR::Repository"), ids=repr)
def test_repository_empties_on_delete(repository: Resource) -> None:
    assert repository.props["EmptyOnDelete"] is True


@pytest.mark.parametrize("repository", the_template().of_type("AWS::ECR::Repository"), ids=repr)
def test_repository_keeps_the_last_ten_images_of_any_tag(repository: Resource) -> None:
    rules = json.loads(repository.props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    keep_ten = [
        rule
        for rule in rules
        if rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10} and rule["action"] == {"type": "expire"}
    ]
    assert keep_ten
    assert len(rules) == 1, "another rule could expire images the keep-10 rule means to keep"


JOBS = ("data-ingestion", "risk-calculation", "report-generation")


def test_each_job_has_its_own_repository(template: Template) -> None:
    containers = [container for task in template.of_type("AWS::ECS::TaskDefinition") for container in task.props["ContainerDefinitions"]]
    repositories = [template.referenced_resource(container["Image"]) for container in containers if container["Name"] in JOBS]
    assert len(set(repositories)) == len(repositories) == len(JOBS)
    assert set(repositories) == {repository.logical_id for repository in template.of_type("AWS::ECR::Repository")}


def test_the_scheduled_checks_run_the_ingestion_image(template: Template) -> None:
    """The checks are commands of the riskbatch package, which every job image holds: they run the
    ingestion image at the stack's tag rather than more images to build, scan and keep."""
    checks = {c["Name"]: c for t in template.of_type("AWS::ECS::TaskDefinition") for c in t.props["ContainerDefinitions"] if c["Name"] not in JOBS}
    assert set(checks) == {"pre-night-check", "deadline-check"}
    assert all(check["Image"] == {"Fn::Sub": "${DataIngestionRepository.RepositoryUri}:${ImageTag}"} for check in checks.values())
    assert checks["pre-night-check"]["Command"] == ["preflight", "--nightly"] and checks["deadline-check"]["Command"] == ["watch"]
