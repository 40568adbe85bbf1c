"""Where Fargate runs Linux tasks: the Regions whose Fargate support is limited to some Availability
Zones, by zone ID (the same physical zone in every account; zone names differ from account to account).

Source: Amazon ECS developer guide, "Supported Regions for Amazon ECS on AWS Fargate", table "Linux
containers on AWS Fargate" ("The supported Availability Zone IDs are noted when applicable"):
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html
Every other Region of that table notes no zone, so any of its zones runs Fargate. The table for Windows
containers limits more (us-east-1 to use1-az1, az2, az4, az5 and az6, for one): it does not apply to
the jobs, whose images are Linux."""

from __future__ import annotations

SOURCE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html"


# Region -> the zone IDs where Fargate runs Linux tasks, for the Regions the guide limits.
FARGATE_LINUX_ZONE_IDS: dict[str, tuple[str, ...]] = {
    "us-west-1": ("usw1-az1", "usw1-az3"),
    "ap-northeast-1": ("apne1-az1", "apne1-az2", "apne1-az4"),
    "cn-north-1": ("cnn1-az1", "cnn1-az2"),
}
