"""What proves a deployed stack: the live checks, taskcat's test run, the integration suite in live mode."""
