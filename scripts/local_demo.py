#!/usr/bin/env python3
"""make demo: deploy the stack into a local AWS emulator and show what it holds.

Starts moto's server on loopback (IAM enforced), creates stand-ins for the existing VPC,
subnets and buckets, switches on the bucket's EventBridge delivery, deploys lib/TapStack.json
with the same phased deploy as for an account (stand-in image manifests are pushed between
the phases), prints the stack's outputs and what the emulator did and did not model.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from deploy import REPO_ROOT, deploy_in_phases
from enable_bucket_events import enable_eventbridge
from riskbatch_infra.coverage import report
from riskbatch_infra.emulator import create_stand_ins, running_emulator, set_scan_findings
from riskbatch_infra.emulator_template import emulator_template
from riskbatch_infra.images import repository_names, stand_in_manifest
from riskbatch_infra.stack import write_flat_outputs


def stage(name: str, started: list[float]) -> None:
    now = time.monotonic()
    print(f"[{now - started[0]:6.1f}s] {name}", file=sys.stderr, flush=True)


def push_stand_in_images(emulator, outputs: dict[str, str], tag: str) -> None:
    """The emulator cannot build containers; an empty manifest stands in for each job's image,
    and its scan reports what a scan of an empty image finds: nothing."""
    ecr = emulator.client("ecr")
    set_scan_findings(emulator, repository_names(outputs), tag, {})
    for repository in repository_names(outputs):
        ecr.put_image(repositoryName=repository, imageManifest=stand_in_manifest(), imageTag=tag)
        # ECR scans on push by itself; the emulator keeps the setting but never scans, so start it.
        ecr.start_image_scan(repositoryName=repository, imageId={"imageTag": tag})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suffix", default="demo")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out")
    args = parser.parse_args(argv)
    started = [time.monotonic()]
    stack_name = f"riskbatch-{args.suffix}"
    template, changes = emulator_template(json.loads((REPO_ROOT / "lib" / "TapStack.json").read_text(encoding="utf-8")))
    stage("starting the emulator on loopback (IAM enforced)", started)
    with running_emulator(region=args.region, log_dir=args.out) as emulator:
        target = emulator.target
        stage(f"emulator at {emulator.endpoint_url}; creating the existing VPC, subnets and buckets", started)
        stand_ins = create_stand_ins(emulator, args.suffix)
        enable_eventbridge(target.client("s3"), stand_ins.input_bucket)
        parameters = {
            "EnvironmentSuffix": args.suffix,
            "VpcId": stand_ins.vpc_id,
            "PrivateSubnet1Id": stand_ins.subnet_ids[0],
            "PrivateSubnet2Id": stand_ins.subnet_ids[1],
            "PrivateSubnet3Id": stand_ins.subnet_ids[2],
            "InputBucketName": stand_ins.input_bucket,
            "OutputBucketName": stand_ins.output_bucket,
        }
        for change in changes:
            stage(f"emulator copy of the template: {change}", started)
        stage("deploying, phase 1 (no services)", started)
        outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket, foundation_only=True)
        tag = template["Parameters"]["ImageTag"]["Default"]
        stage(f"pushing stand-in images tagged {tag}", started)
        push_stand_in_images(emulator, outputs, tag)
        stage("deploying, phases 2 and 3 (scan gate, services)", started)
        outputs = deploy_in_phases(target, stack_name, template, parameters, stand_ins.template_bucket)
        write_flat_outputs(outputs, args.out / "flat-outputs.json")
        print(f"\nStack {stack_name} outputs:")
        for key, value in sorted(outputs.items()):
            print(f"  {key:<36} {value}")
        print()
        print(report(target, stack_name, template, {**parameters, "DeployServices": "true"}, outputs))
        stage("done", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
