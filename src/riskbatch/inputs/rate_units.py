"""A rate step that looks like a unit error: one rate about a hundred times another (0.1 typed for 0.1 %, beside 0.002).

A genuine squeeze moves a rate a few times over (EUR 2.1 % to 4.5 %, CNH 2 % to 9 %); a percentage typed as a number
moves it a hundredfold. A step refusal whose two rates are 30 to 300 times apart (either way round, same sign) is
such a slip: the curve cannot be accepted by a sign-off (riskbatch accept-rates); the file is corrected instead."""

from __future__ import annotations

UNIT_RATIO = (30.0, 300.0)  # about 100x: a percentage typed as a number (or a number read as a percentage)


def typed_percentage(code: str, tenor: str, rate: float, other: float, other_name: str) -> str | None:
    """The one-line reason when `rate` is about 100x (or 1/100 of) `other` ("its neighbour 1Y", "its 0.1 the night of ..."),
    None otherwise."""
    if rate * other <= 0:  # a sign change or a zero is no factor of a hundred
        return None
    ratio = max(abs(rate), abs(other)) / min(abs(rate), abs(other))
    if not UNIT_RATIO[0] <= ratio <= UNIT_RATIO[1]:
        return None
    size = f"{ratio:.0f}x" if abs(rate) > abs(other) else f"1/{ratio:.0f} of"
    return f"{code} {tenor} {rate:g} is {size} {other_name} {other:g}: a percentage typed as a number? correct the file and rerun"
