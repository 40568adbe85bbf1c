"""Teardown (runs last): the stack deletes, and nothing carrying its suffix is left."""

from __future__ import annotations

import pytest

from riskbatch_platform.deployment.teardown import delete_stack, leftovers
from test.integration.conftest import DeployedStack, local_only


@pytest.mark.deletes_the_stack
def test_the_stack_deletes_and_leaves_nothing_behind(stack: DeployedStack) -> None:
    local_only(stack, "changes the stack")  # never delete a live stack from the test suite
    suffix = stack.outputs["EnvironmentSuffix"]
    before = leftovers(stack.target, suffix)
    assert before["ECR repositories"] and before["IAM roles"] and before["SQS queues"], "the inventory finds the stack's resources"
    stack.target.client("sqs").delete_queue(QueueUrl=stack.local.mailbox)  # the harness's subscriber, not the stack's
    delete_stack(stack.target, stack.stack_name, log=lambda line: None)
    remaining = {kind: names for kind, names in leftovers(stack.target, suffix).items() if names}
    assert remaining == {}
