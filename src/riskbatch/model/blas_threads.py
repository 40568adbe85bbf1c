"""The covariance's decompositions under one BLAS thread: the same Cholesky factor, to the last bit, whatever the worker's vCPUs.

OpenBLAS shares LAPACK's blocked factorisations (the Cholesky factorisation behind numpy.linalg.cholesky,
the reduction behind eigvalsh) among its threads, and the order in which partial results are combined
follows the number of threads: on a 500-factor market the factor and the smallest correlation
eigenvalue computed under 2 threads differed from those under 1 in their last bits (the month-end
book's P&L by up to 1.6e-14 of its largest). A worker's thread count is its task's vCPUs, so a 2-vCPU
risk task, a 1-vCPU report task revaluing a previous night and a laptop reproducing a night from its
manifest drew scenarios differing in their last bits from the same inputs. Under one thread the sequence of
operations no longer follows the vCPUs; it still follows the BLAS kernel OpenBLAS picks for the processor (Haswell,
Zen, SkylakeX: OPENBLAS_CORETYPE), and two kernels differ in the last bits too (docs/jobs.md says by how much).
At 500 factors the decompositions take about 0.1 s under one thread, no slower than under two on 2 vCPU.
The covariance estimate (its products, the SVD of matrix_rank) is held to one thread for the same reason.

The scenario product (the triangular product by the factor) keeps every thread: its blocks come out
the same under 1 and 2 threads, and test/jobs/model/test_blas_threads.py holds them so.

threadpoolctl (https://github.com/joblib/threadpoolctl, README, "Usage: Python runtime programmatic
introspection and control") sets the thread count of every BLAS library loaded (numpy and scipy each
bundle their own OpenBLAS) for the call and restores the previous counts after it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

P = ParamSpec("P")
R = TypeVar("R")


def one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """`function` run with every BLAS library limited to one thread (the previous limits restored after)."""

    @wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return limited
