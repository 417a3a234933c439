"""Plain words for Measure's results: what the data shows, and what it does not.

A community manager must be able to repeat these sentences to a client without overstating
them, so they follow the statistics exactly: a ranking of medians, whether the
Kruskal–Wallis test and the Holm-adjusted pairwise tests support a difference, which groups
are too small to trust, and whether the ranking flips when the denominator changes (raw
interactions favour posts shown to many people; a rate divides by that audience).

Also the names the pages give to things (KPI labels, groups, weekdays, units) and the
evidence of a recommended slot, in the reader's language (:func:`helpers`).

Pure functions over the service's result dicts; the caller passes the translation function
and the number formatter of the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from townsquare.analytics import kpis, tables
from townsquare.analytics.tables import NO_GROUPING

# The conventional threshold; the page prints the p-values so a reader can apply their own.
ALPHA = 0.05

Gettext = Callable[[str], str]
Formatter = Callable[[Any, str], str]


@dataclass(frozen=True)
class Sentence:
    """One statement; ``kind`` is "finding", "warning" (read with care) or "limit"."""

    kind: str
    text: str


def weekday_names(gettext: Gettext) -> list[str]:
    """ISO order: 1 = Monday … 7 = Sunday."""
    _ = gettext
    return [
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    ]


def ranked(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Groups with a known median, highest median first (ties keep the service's order)."""
    groups = [group for group in result.get("groups", []) if group.get("median") is not None]
    return sorted(groups, key=lambda group: -float(group["median"]))


def leader(result: Mapping[str, Any]) -> str | None:
    order = ranked(result)
    return str(order[0]["key"]) if order else None


def explain_formats(
    result: Mapping[str, Any],
    counterpart: Mapping[str, Any] | None,
    *,
    metric_label: str,
    counterpart_label: str,
    gettext: Gettext,
    fmt: Formatter,
    unit: str,
) -> list[Sentence]:
    """Sentences about a ``measure_formats`` result, compared with ``counterpart``.

    ``counterpart`` is the same comparison on the other kind of metric (a rate if
    ``result`` is a count, a count if it is a rate), to say when the ranking flips.
    """
    _ = gettext
    out: list[Sentence] = []
    order = ranked(result)
    if not order:
        return [
            Sentence("warning", _("No post of this channel has this metric: nothing to compare."))
        ]
    first, last = order[0], order[-1]
    if len(order) == 1:
        out.append(
            Sentence(
                "warning",
                _("Only one format has posts (%(format)s): there is nothing to compare it with.")
                % {"format": _(str(first["key"]))},
            )
        )
    else:
        out.append(
            Sentence(
                "finding",
                _(
                    "%(first)s has the highest median %(metric)s (%(value)s, n = %(n)s); "
                    "%(last)s the lowest (%(last_value)s, n = %(last_n)s)."
                )
                % {
                    "first": _(str(first["key"])),
                    "metric": metric_label,
                    "value": fmt(first["median"], unit),
                    "n": first.get("n"),
                    "last": _(str(last["key"])),
                    "last_value": fmt(last["median"], unit),
                    "last_n": last.get("n"),
                },
            )
        )
        out.extend(_test_sentences(result, gettext, fmt))
    out.extend(_small_sample_sentences(result, gettext))
    out.extend(_flip_sentences(result, counterpart, metric_label, counterpart_label, gettext))
    out.append(
        Sentence(
            "limit",
            _(
                "What this does not show: why. These are medians of this channel's past posts; "
                "formats also differ in subject, timing, audience and paid promotion, so a "
                "difference here is not proof that the format caused it. Medians describe a "
                "typical post, not the total a format brought in."
            ),
        )
    )
    return out


def _test_sentences(result: Mapping[str, Any], gettext: Gettext, fmt: Formatter) -> list[Sentence]:
    _ = gettext
    out: list[Sentence] = []
    test = result.get("test") or {}
    p_value = test.get("p_value")
    if p_value is None:
        out.append(Sentence("warning", _("No test could be run: at least two formats need posts.")))
        return out
    if p_value < ALPHA:
        out.append(
            Sentence(
                "finding",
                _(
                    "The Kruskal–Wallis test says differences this large between formats would "
                    "be unlikely if the format made no difference (%(p)s)."
                )
                % {"p": fmt(p_value, "p=")},
            )
        )
    else:
        out.append(
            Sentence(
                "warning",
                _(
                    "The Kruskal–Wallis test does not show a difference between formats that "
                    "chance alone could not produce (%(p)s): do not rank formats on this "
                    "data."
                )
                % {"p": fmt(p_value, "p=")},
            )
        )
    pairs = result.get("pairwise") or []
    strong = [pair for pair in pairs if (pair.get("p_adjusted") or 1.0) < ALPHA]
    if pairs and strong:
        listed = ", ".join(
            f"{pair['a']} / {pair['b']} ({fmt(pair['p_adjusted'], 'p=')})" for pair in strong
        )
        out.append(
            Sentence(
                "finding",
                _(
                    "After Holm's correction for %(count)s comparisons, these pairs differ: "
                    "%(pairs)s."
                )
                % {"count": len(pairs), "pairs": listed},
            )
        )
    elif pairs:
        out.append(
            Sentence(
                "warning",
                _(
                    "No pair of formats differs once corrected for the %(count)s comparisons "
                    "made (Holm)."
                )
                % {"count": len(pairs)},
            )
        )
    return out


def _small_sample_sentences(result: Mapping[str, Any], gettext: Gettext) -> list[Sentence]:
    _ = gettext
    small = [group for group in result.get("groups", []) if group.get("small_sample")]
    if not small:
        return []
    listed = ", ".join(f"{_(str(group['key']))} (n = {group.get('n')})" for group in small)
    return [
        Sentence(
            "warning",
            _(
                "Small samples: %(groups)s. Their intervals are wide and a few more posts could "
                "change their rank; treat them as anecdotes."
            )
            % {"groups": listed},
        )
    ]


def _flip_sentences(
    result: Mapping[str, Any],
    counterpart: Mapping[str, Any] | None,
    metric_label: str,
    counterpart_label: str,
    gettext: Gettext,
) -> Sequence[Sentence]:
    _ = gettext
    if not counterpart:
        return []
    ours, theirs = leader(result), leader(counterpart)
    if ours is None or theirs is None:
        return []
    if ours == theirs:
        return [
            Sentence(
                "finding",
                _(
                    "%(format)s also leads on %(other)s: the ranking does not depend on the "
                    "denominator."
                )
                % {"format": _(ours), "other": counterpart_label},
            )
        ]
    return [
        Sentence(
            "warning",
            _(
                "The ranking flips with the denominator: %(ours)s leads on %(metric)s, but "
                "%(theirs)s leads on %(other)s. Raw counts favour posts shown to many people; "
                "a rate divides by that audience. Say which one you report."
            )
            % {
                "ours": _(ours),
                "metric": metric_label,
                "theirs": _(theirs),
                "other": counterpart_label,
            },
        )
    ]


# --- names and wording for the pages ------------------------------------------------------


def month_name(key: str, language: str) -> str:
    """``2026-12`` as the month by name in ``language`` ("déc. 2026", "Dec 2026")."""
    from datetime import date

    from babel.dates import format_date

    try:
        first = date(int(key[:4]), int(key[5:7]), 1)
    except ValueError:
        return key
    return str(format_date(first, "MMM y", locale=language))


def kpi_label(name: str, language: str) -> str:
    kpi = kpis.REGISTRY.get(name)
    if kpi is None:
        return name
    return kpi.label_fr if language == "fr" and kpi.label_fr else kpi.label


def helpers(language: str, gettext: Gettext) -> dict[str, Any]:
    """Formatting and naming functions the templates call, in the reader's language."""
    _ = gettext
    days = weekday_names(gettext)
    groupings = {
        "format": _("Format"),
        "weekday": _("Weekday"),
        "hour": _("Hour"),
        "month": _("Month"),
        "paid": _("Paid or organic"),
        NO_GROUPING: _("All posts together"),
    }
    paid = {"all": _("All posts"), "organic": _("Organic only"), "paid": _("Paid only")}
    kinds = {"paid": _("Paid"), "organic": _("Organic"), "unknown": _("Unknown")}

    def num(value: Any, unit: str = "count") -> str:
        return tables.number(value, unit, language)

    def group_name(by: str, key: Any) -> str:
        if key is None:
            return _("Unknown")
        if by == "weekday" and isinstance(key, int) and 1 <= key <= 7:
            return days[key - 1]
        if by == "hour" and isinstance(key, int):
            return f"{key:02d}:00"
        if by == "paid":
            return kinds.get(str(key), str(key))
        if by == NO_GROUPING:
            return _("All posts")
        if by == "format":
            # The formats (link, status, video, photo) are msgids of terms.po.
            return _(str(key))
        if by == "month" and isinstance(key, str) and len(key) == 7:
            return month_name(key, language)
        return str(key)

    def group_rule(entry: Mapping[str, Any]) -> str:
        if entry.get("kind") in ("rate", "daily"):
            return _("mean of ratios and ratio of sums, both shown")
        if entry.get("kind") == "channel":
            return _("one figure for the channel over the period")
        return _("mean per post (medians in formats and best times)")

    def slot_evidence(slot: Mapping[str, Any], unit: str) -> str:
        text = _("Median %(median)s over %(n)s posts, against %(overall)s for all posts; ") % {
            "median": num(slot.get("median"), unit),
            "n": slot.get("n"),
            "overall": num(slot.get("overall_median"), unit),
        }
        if slot.get("ci_above_overall"):
            return text + _("its whole 95%% interval is above the overall median.") % {}
        return text + _("its 95%% interval overlaps the overall median: a lead, not a proof.") % {}

    return {
        "num": num,
        "label": lambda name: kpi_label(name, language),
        "kpi_cell": tables.kpi_cell,
        "is_rate": tables.is_rate,
        "weekday_names": days,
        "grouping_label": lambda by: groupings.get(by, by),
        "paid_label": lambda value: paid.get(value, value),
        "unit_label": lambda unit: _("percent (%)") if unit == "percent" else _("count"),
        "group_name": group_name,
        "group_rule": group_rule,
        "slot_evidence": slot_evidence,
    }
