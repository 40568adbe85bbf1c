"""Deployment helpers shared by the deploy, teardown and local-emulator scripts."""
