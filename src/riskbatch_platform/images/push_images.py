"""Push the three job images make images built to the stack's repositories, and wait for their scans.

Each localhost/ecr-<job>:<tag> goes to the repository the stack's outputs name for the job
(<registry>/ecr-<job>-<suffix>:<tag>), with podman, logged in with ECR's token; then each image's
scan is waited for and judged as the deploy's gate judges it (CRITICAL or HIGH findings refuse it).
The tags are immutable: a tag already in a repository is refused by ECR, never overwritten.

The region and credentials are found as the AWS CLI finds them (--region, AWS_REGION,
AWS_DEFAULT_REGION, the profile's region); the account and region are printed before the push.

Exit codes: 0 pushed and scanned clean, 1 a scan found CRITICAL or HIGH findings, 2 a usage error,
a missing image or no such stack, 3 a scan that could not be judged, 9 no AWS region or credentials,
or AWS unreachable, 11 AWS refused a call, 125 podman failed (the login, a push, or reading its images:
podman's words and what to do, in one line).
"""

from __future__ import annotations

import argparse
import base64
import sys

from botocore.exceptions import ClientError

from riskbatch.operations.aws_access import RENUMBERED, CommandParser, add_aws_options, guarded
from riskbatch_platform.aws import command_target
from riskbatch_platform.deployment.image_gate import ScanNotFinished, scan_verdict
from riskbatch_platform.deployment.stack import stack_outputs
from riskbatch_platform.images.build import default_image_tag, job_of_repository, local_reference
from riskbatch_platform.local.podman import image_exists, podman


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="riskbatch-push-images", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", required=True, help="the stack whose repositories receive the images")
    add_aws_options(parser)
    parser.add_argument("--tag", default=default_image_tag(), help="the image tag (default: the template's ImageTag default)")
    parser.add_argument("--scan-wait", type=float, default=900, help="seconds to wait for each scan")
    args = parser.parse_args(argv)
    return guarded(parser.prog, lambda: _push(args), {**RENUMBERED, 4: 2}, profile=args.profile)


def _push(args: argparse.Namespace) -> int:
    target = command_target(args.region, args.profile, None, "riskbatch-push-images")
    try:
        outputs = stack_outputs(target.client("cloudformation"), args.stack_name)
    except ClientError as error:
        if "does not exist" not in error.response["Error"].get("Message", ""):
            raise  # the boundary says what AWS refused
        message = error.response["Error"]["Message"]
        print(f"riskbatch-push-images: error: {args.stack_name}: {message} (deploy its first phase first: docs/runbook.md)", file=sys.stderr)
        return 2
    uris = {job_of_repository(uri): uri for key, uri in outputs.items() if key.endswith("RepositoryUri")}
    missing = [local_reference(job, args.tag) for job in uris if not image_exists(local_reference(job, args.tag))]
    if missing:
        print(f"not built: {', '.join(missing)}; run make images (or riskbatch-images --public-base) first", file=sys.stderr)
        return 2
    ecr = target.client("ecr")
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    registry = token["proxyEndpoint"].removeprefix("https://")
    podman("login", "--username", user, "--password-stdin", registry, input_text=password)
    for job, uri in sorted(uris.items()):
        podman("push", "--quiet", local_reference(job, args.tag), f"docker://{uri}:{args.tag}")
        print(f"pushed {local_reference(job, args.tag)} to {uri}:{args.tag}")
    refused = False
    for uri in sorted(uris.values()):
        repository = uri.split("/", 1)[1]
        try:
            verdict = scan_verdict(ecr, repository, args.tag, max_wait_seconds=args.scan_wait)
        except ScanNotFinished as error:
            print(error, file=sys.stderr)
            return 3
        print(f"scan {repository}:{args.tag}: {verdict.status}, {verdict.severity_counts or 'no findings'}")
        refused = refused or bool(verdict.blocking)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
