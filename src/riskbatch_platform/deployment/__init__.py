"""Deploying the stack: change sets in phases, the checks before each, and what follows an update or a deletion.

Commands: riskbatch-deploy (deploy.py), riskbatch-teardown, riskbatch-preflight, riskbatch-enable-bucket-events.
"""
