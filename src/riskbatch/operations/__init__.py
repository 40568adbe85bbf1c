"""The operator's side: where a night stands (status), running a date again (rerun), restatements, the
deadline logic (watch), preflight's checks, the plan and the costs of a night, the deployed stack's
lookup, and the least-privilege probe a task runs with its own role."""
