"""The local target: the night on one machine, against the emulator, in the jobs' images or as processes.

emulator/ is moto's server with the fixes the night needs; runner.py plays ECS (RunTask, services,
scheduled triggers) with containers.py and podman.py; night.py deploys and runs a night; demo.py is
make demo (riskbatch-demo); preflight.py is preflight against a local deployment.
"""
