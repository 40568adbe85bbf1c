"""What the night's figures cover, said wherever a figure is read: the portfolios the firm figure leaves out
(no figure: every position excluded), the portfolios whose figure leaves out more than the configured share of
their notional, and the options that expired on the business date, counted apart from the positions excluded
for their data (an expiry is the calendar, not a data problem)."""

from __future__ import annotations

from typing import Any

from riskbatch.inputs.files import is_expiry
from riskbatch.inputs.quality import DataQualityPolicy, excluded_notional_text
from riskbatch.model.notional import portfolio_notional
from riskbatch.model.run_inputs import RunBook
from riskbatch.reporting.tables import counted

NO_FIGURE = "no figure: every position excluded"


def expired_today(quality: dict[str, Any]) -> int:
    """How many options the night left out because they expire on the business date (not revalued: no risk over the horizon)."""
    return sum(is_expiry(row) for row in quality.get("excluded", []))


def data_exclusions(quality: dict[str, Any]) -> dict[str, Any]:
    """The positions excluded for a data problem (expiries left out), with their notional: the keys of
    the data-quality summary, so excluded_notional_text reads them."""
    if "excluded" not in quality:  # a summary without its rows (an earlier release): the totals as they are
        return quality
    rows = [row for row in quality["excluded"] if not is_expiry(row)]
    known = [float(row["notional"]) for row in rows if row["notional"] is not None]
    return {
        "excluded_positions": len(rows),
        "excluded_notional": float(sum(known)),
        "excluded_notional_currency": quality.get("excluded_notional_currency", ""),
        "excluded_notional_unknown": len(rows) - len(known),
    }


def expiries_text(quality: dict[str, Any]) -> str:
    """'2 options expired today, not revalued', or '' when none did."""
    count = expired_today(quality)
    return f"{counted(count, 'option')} expired today, not revalued" if count else ""


def firm_excludes(unvalued: dict[str, dict[str, Any]]) -> str | None:
    """What the firm figure leaves out, in words: 'excludes PF03 (no figure: every position excluded, notional
    1,234 USD)'; None when it covers every portfolio of the book."""
    if not unvalued:
        return None
    parts = [f"{name} ({NO_FIGURE}, notional {excluded_notional_text(why)})" for name, why in list(unvalued.items())[:FIRM_NAMED]]
    more = len(unvalued) - FIRM_NAMED
    return "excludes " + ", ".join(parts) + (f", and {counted(more, 'more portfolio')} without a figure (see Data quality)" if more > 0 else "")


FIRM_NAMED = 5  # portfolios the firm caveat names, of those without a figure and of those partly excluded: the others counted


def valued_notional(run_book: RunBook) -> dict[str, float]:
    """Each portfolio's notional valued tonight, |quantity x multiplier x spot| at today's rate into the
    reporting currency: the measure of an excluded position's notional (riskbatch.inputs.files)."""
    return portfolio_notional(run_book.positions, run_book.market, run_book.book)


EITHER_WAY = "the risk may be higher or lower"  # what is left out may add risk or hedge it: the figure is no bound either way


def partly_excluded(quality: dict[str, Any], valued: dict[str, float], policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each valued portfolio whose excluded notional (data problems; expiries carry no risk) is above the share of
    its notional the model configuration flags (data_quality.excluded_notional_share_flag), or with an excluded
    position of unknown notional (its share cannot be shown to be under the flag): its figure leaves that out, and
    says so. Never called low: leaving out a hedge raises the figure, leaving out a risk lowers it."""
    threshold = float(policy.get("excluded_notional_share_flag", DataQualityPolicy.excluded_notional_share_flag))
    excluded: dict[str, list[dict[str, Any]]] = {}
    for row in quality.get("excluded", []):
        if row["portfolio_id"] in valued and not is_expiry(row):
            excluded.setdefault(row["portfolio_id"], []).append(row)
    flagged = {}
    for name, rows in sorted(excluded.items()):
        left_out = float(sum(row["notional"] for row in rows if row["notional"] is not None))
        whole = left_out + valued[name]
        share = left_out / whole if whole > 0 else 0.0
        unknown = sum(row["notional"] is None for row in rows)
        if share > threshold or unknown:
            flagged[name] = {
                "excluded_positions": len(rows),
                "excluded_notional": left_out,
                "excluded_notional_unknown": unknown,
                "portfolio_notional": whole,
                "share": share,
                "threshold": threshold,
                "text": f"{_left_out_text(len(rows), unknown, share, threshold)}: {EITHER_WAY}",
            }
    return flagged


def _left_out_text(positions: int, unknown: int, share: float, threshold: float) -> str:
    """What a flagged portfolio's figure leaves out, in words: 'its figure leaves out 50 % of its notional (1 position),
    above the 25 % flagged'; only positions of unknown notional: 'positions of unknown notional excluded (1 position),
    their share of its notional not known' (never a share of 0)."""
    if unknown == positions:
        return f"positions of unknown notional excluded ({counted(unknown, 'position')}), their share of its notional not known"
    beside = f" and {counted(unknown, 'position')} of unknown notional" if unknown else ""
    above = f"above the {100 * threshold:.0f} % flagged" if share > threshold else f"not shown to be under the {100 * threshold:.0f} % flagged"
    return f"its figure leaves out {100 * share:.0f} % of its notional{beside} ({counted(positions, 'position')}), {above}"


def limit_caveats(unvalued: dict[str, dict[str, Any]], partial: dict[str, dict[str, Any]]) -> dict[str, str]:
    """By limit scope ('firm' or a portfolio), why its figure is not the whole of it: the limit's status
    then reads incomplete (or breach (incomplete)), never a plain ok (riskbatch.validation.limits.utilisation).
    The firm's figure holds every portfolio's, so a portfolio without a figure or flagged partly excluded makes
    the firm's incomplete too."""
    caveats = {name: flag["text"] for name, flag in partial.items()}
    named = list(partial.items())[:FIRM_NAMED]
    parts = [firm_excludes(unvalued) or ""] + [f"{name} {PARTLY_EXCLUDED} ({_what_is_left_out(name, flag)})" for name, flag in named]
    if len(partial) > FIRM_NAMED:  # the caveat stands beside every firm limit and in the notice: bounded, each portfolio in its own line
        parts.append(f"{counted(len(partial) - FIRM_NAMED, 'more portfolio')} {PARTLY_EXCLUDED} (see Data quality)")
    if any(parts):
        caveats["firm"] = "; ".join(filter(None, parts))
    return caveats


PARTLY_EXCLUDED = "partly excluded"
_FLAG_PARTS = ("excluded_positions", "excluded_notional_unknown", "share", "threshold")


def _what_is_left_out(name: str, flag: dict[str, Any]) -> str:
    """What a flagged portfolio's figure leaves out, for the firm's caveat: built from the flag's parts (never its text
    wrapped again, which a text already holding the caveat would nest: 'PF02 partly excluded (partly excluded (...'); a flag
    without its parts (an earlier release's record) by its text, stripped of any caveat it already carries."""
    if all(key in flag for key in _FLAG_PARTS):
        return _left_out_text(int(flag["excluded_positions"]), int(flag["excluded_notional_unknown"]), float(flag["share"]), float(flag["threshold"]))
    text = str(flag["text"]).removesuffix(f": {EITHER_WAY}")
    wrappers = (f"{name} {PARTLY_EXCLUDED} (", f"{PARTLY_EXCLUDED} (")
    while text.endswith(")") and (wrapper := next((prefix for prefix in wrappers if text.startswith(prefix)), None)):
        text = text[len(wrapper) : -1].removesuffix(f": {EITHER_WAY}")
    return text


def firm_incomplete(summary: dict[str, Any]) -> str | None:
    """Why the report's firm figure is not the whole book (portfolios without a figure, portfolios flagged partly
    excluded), in words; None when it is: the firm row, the e-mail and its subject say INCOMPLETE on it."""
    return limit_caveats(summary.get("portfolios_without_figures") or {}, summary.get("portfolios_partly_excluded") or {}).get("firm")
