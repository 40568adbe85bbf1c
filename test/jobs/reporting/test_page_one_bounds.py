"""Page one's bounded texts: a clipped text ends at a whole word and never shows a number without its unit."""

from __future__ import annotations

import pytest

from riskbatch.reporting.page_one_bounds import clipped

CAVEAT = "excludes PF03 (no figure, notional 1,234,567,890 USD), PF07 (no figure, notional 12,345 USD)"
SHARE = "PF02 partly excluded (its figure leaves out 31 % of its notional (2 positions), above the 25 % flagged)"


@pytest.mark.parametrize("most", range(30, len(CAVEAT)))
def test_a_clipped_amount_keeps_its_currency_or_goes_with_it(most: int) -> None:
    """Before, 50 characters read 'notional 1,234,567,890 ...': the amount without its currency."""
    shown = clipped(CAVEAT, most, "Warnings").removesuffix(" ... (in full: Warnings)")
    assert CAVEAT.startswith(shown) and CAVEAT[len(shown)] in " ,;)"  # whole words of the text
    for amount in ["1,234,567,890", "12,345"]:
        assert amount not in shown or f"{amount} USD" in shown, shown


@pytest.mark.parametrize("most", range(30, len(SHARE)))
def test_a_clipped_percentage_or_count_keeps_its_unit(most: int) -> None:
    shown = clipped(SHARE, most, "Warnings").removesuffix(" ... (in full: Warnings)")
    assert SHARE.startswith(shown) and SHARE[len(shown)] in " ,;)"
    last = shown.split()[-1]
    assert not last.lstrip("(").replace(",", "").isdigit(), shown  # '31' without '%', '(2' without 'positions'


def test_a_text_within_its_bound_is_whole_and_one_beyond_says_where_it_is_in_full() -> None:
    assert clipped(SHARE, len(SHARE), "Warnings") == SHARE
    assert clipped("notional 1,234,567,890 USD", 24, "Warnings") == "notional ... (in full: Warnings)"
    assert clipped("notional 1,234,567,890 USD", 26, "Warnings") == "notional 1,234,567,890 USD"
