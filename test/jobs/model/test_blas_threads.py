"""The same scenarios on any worker, whatever its vCPUs: the risk model and the scenarios drawn from it
do not depend on the number of BLAS threads (a worker's is its task's vCPU count)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from riskbatch.inputs.files import load_market
from riskbatch.inputs.sample import SampleSpec, market_table
from riskbatch.model.engine import RiskModel, risk_model
from riskbatch.model.risk_model import ModelParameters, scenario_block

# A month-end market's size: 500 factors (smaller factorisations fit in one BLAS block and agree anyway).
MONTH_END = SampleSpec(positions=100, factors=500, days=620, option_share=0.1, seed=11)


def model_and_first_block(market, parameters: ModelParameters, threads: int) -> tuple[RiskModel, np.ndarray]:
    """The model and scenario block 0 as a worker whose BLAS runs `threads` threads computes them."""
    with threadpool_limits(limits=threads, user_api="blas"):
        blas = [library for library in threadpool_info() if library["user_api"] == "blas"]
        assert blas and all(library["num_threads"] == threads for library in blas), f"BLAS did not take {threads} thread(s): {blas}"
        model = risk_model(market, parameters)
        return model, np.array(scenario_block(parameters, 0, model.cholesky, model.keys, triangular=model.triangular))


def test_the_model_built_under_one_blas_thread_equals_bit_for_bit_the_model_built_under_two() -> None:
    market = load_market(market_table(MONTH_END), "market.csv", MONTH_END.business_date)
    parameters = ModelParameters(scenarios=4_096, block_size=4_096)
    one, one_block = model_and_first_block(market, parameters, 1)
    two, two_block = model_and_first_block(market, parameters, 2)
    assert len(market.factors) >= 500
    assert one.lower.tobytes() == two.lower.tobytes()
    assert one.cholesky.tobytes() == two.cholesky.tobytes()
    assert one.covariance.matrix.tobytes() == two.covariance.matrix.tobytes()
    assert one.describe() == two.describe()  # rank, shrinkage, smallest correlation eigenvalue, jitter
    # common random numbers: the scenarios themselves, the product by the factor drawn with 1 and 2 threads
    assert one_block.tobytes() == two_block.tobytes()
