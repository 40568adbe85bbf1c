"""What every job process needs while it runs, whatever its work: structured logs, the heartbeat behind
the container health check, and a one-shot task's own deadline (the watchdog). Imports nothing heavy:
the health check runs every 30 s in every task."""
