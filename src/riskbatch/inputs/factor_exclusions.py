"""The positions a night goes on without because a factor they need is excluded, and why."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def excluded_by_factor(needs: list[list[str]], dropped: Mapping[str, str]) -> tuple[np.ndarray, list[str]]:
    """Per position (the factors it needs), whether it keeps every factor, and the reasons of the excluded ones it
    needs ("" when none), joined by "; ". Found once per list of factors: the positions on the same underlying share one."""
    found: dict[int, tuple[bool, str]] = {}  # by the list's identity: `needs` holds every list while this runs
    keep, reasons = [], []
    for factors in needs:
        known = found.get(id(factors))
        if known is None:
            why = [dropped[factor] for factor in factors if factor in dropped]
            known = found[id(factors)] = (not why, "; ".join(why))
        keep.append(known[0])
        reasons.append(known[1])
    return np.array(keep, dtype=bool), reasons
