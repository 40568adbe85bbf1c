"""Overnight risk batch: data ingestion, Monte Carlo risk calculation and report generation."""

from riskbatch.model.kernel_cpu import select_kernel_cpu

__version__ = "1.0.0"

# Before anything imports numba: which CPU the kernels run compiled for (kernel_cpu says why).
select_kernel_cpu()
