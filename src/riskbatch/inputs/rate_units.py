"""A rate step that looks like a unit error: a percentage typed as a number (0.1 for 0.1 %, beside 0.002).

A genuine squeeze moves a rate a few times over (EUR 2.1 % to 4.5 %, CNH 2 % to 9 %); a percentage typed as a number
moves it a hundredfold. A step refusal is such a slip when its two rates are 30 to 300 times apart (same sign); or,
where a ratio means nothing (the smaller rate under a tenth of a point, zero, or of the other sign: JPY and CHF from 2016
to 2022), when a hundredth of the larger rate would sit within half a point of the other. Such a curve cannot be
accepted by a sign-off (riskbatch accept-rates): the file is corrected instead. A squeeze from a rate under a tenth of a
point to a few points in one night reads as a slip too; the currency is then refused until a corrected rerun."""

from __future__ import annotations

UNIT_RATIO = (30.0, 300.0)  # about 100x: a percentage typed as a number (or a number read as a percentage)
NEAR_ZERO = 0.001  # a rate under a tenth of a point: no ratio to read, the hundredth's distance instead
NEAR = 0.005  # half a point: how near a hundredth of the larger rate must come to a rate near zero


def typed_percentage(code: str, tenor: str, rate: float, other: float, other_name: str) -> str | None:
    """The one-line reason when `rate` (or `other`) reads as a percentage typed as a number beside the other one
    ("its neighbour 1Y", "its night before (date)"), None otherwise."""
    larger, smaller = (rate, other) if abs(rate) >= abs(other) else (other, rate)
    same_sign = rate * other > 0
    hundredfold = same_sign and UNIT_RATIO[0] <= abs(larger / smaller) <= UNIT_RATIO[1]
    near_zero = (not same_sign or abs(smaller) < NEAR_ZERO) and abs(larger / 100 - smaller) <= NEAR
    if not (hundredfold or near_zero):
        return None
    if same_sign:
        ratio = abs(larger / smaller)
        size = f"{ratio:.0f}x" if larger is rate else f"1/{ratio:.0f} of"
        return f"{code} {tenor} {rate:g} is {size} {other_name} {other:g}: a percentage typed as a number? correct the file and rerun"
    return (
        f"{code} {tenor} {rate:g} beside {other_name} {other:g}: a hundredth of {larger:g} would sit beside {smaller:g}:"
        " a percentage typed as a number? correct the file and rerun"
    )
