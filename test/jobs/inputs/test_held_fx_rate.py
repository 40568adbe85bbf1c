"""A held FX rate's "value it would have added" counts the positions translated through it, not only the
positions on the pair itself. Before, a European book of millions behind a held EURUSD counted as nothing."""

from __future__ import annotations

import numpy as np
import pytest

from riskbatch.inputs.quality import DataQualityPolicy, prepare_night
from riskbatch.inputs.sample import business_days
from test.jobs.inputs.test_history_gaps import DAYS, EASTER_MONDAY, _positions, _prices, _table


def test_a_held_eurusd_counts_the_european_equity_it_translates() -> None:
    prices = _prices()
    # a rate in the wrong units (x100): held, as only a contradicted or implausible jump is (a plausible one is used)
    published = prices["FX_EURUSD"][-2] * 100.0
    prices["FX_EURUSD"][-1] = published
    table = _table(prices, business_days(EASTER_MONDAY, DAYS))
    night = prepare_night(table, "m", _positions(), "p", EASTER_MONDAY, DataQualityPolicy(), "USD")
    (held,) = night.held
    assert held.factor == "FX_EURUSD" and held.held_at == prices["FX_EURUSD"][-2]
    sie = 20_000.0 * prices["SIE"][-1]  # the EUR value of the European position
    assert held.positions == 1 and held.value_effect == pytest.approx(sie * (published - held.held_at), rel=1e-12)
    assert np.isfinite(held.value_effect) and held.value_effect > 0
