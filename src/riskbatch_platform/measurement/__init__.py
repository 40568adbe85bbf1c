"""Measurements of the jobs: the benchmark (riskbatch-bench), the model's accuracy, a year of backtests."""
