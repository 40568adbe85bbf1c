"""The jobs' entries, thin: each wires the pieces below to its queues and buckets. data-ingestion
(ingestion), risk-calculation (risk_calculation), report-generation (report_generation), the
pre-night check (pre_night_check), the deadline check (deadline_check), and the queue worker the two
services share (queue_worker)."""
