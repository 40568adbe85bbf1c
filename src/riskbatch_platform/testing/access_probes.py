"""The integration suite's least-privilege probes need a stack deployed with EnableAccessProbes=true.

Only such a stack lets each task role read and write its probe's expectations and verdict under
probes/ of the output bucket; a production stack (the default, false) grants no role that prefix, so
that no service's task can rewrite another role's expected verdict. A live run against a stack
without it would fail every probe with AccessDenied: it refuses to start instead, in one line.
"""

from __future__ import annotations

PARAMETER = "EnableAccessProbes"
ON = {PARAMETER: "true"}  # what the suite's own deployments pass


def refusal(stack_name: str, parameters: dict[str, str]) -> str | None:
    """Why a live run may not start against this stack (None: it may)."""
    if parameters.get(PARAMETER) == "true":
        return None
    found = parameters.get(PARAMETER, "absent (a template before it)")
    return (
        f"the integration suite cannot run against {stack_name}: {PARAMETER} is {found}, so no task role may use probes/ of the output "
        f"bucket and every least-privilege probe would be denied. Deploy a test stack with --parameter {PARAMETER}=true "
        "(never a production stack: the grant lets every task role write under probes/)"
    )
