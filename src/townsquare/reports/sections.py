"""A report's sections as plain data for the template: pure functions, no I/O.

Each builder takes the figures of ``figures.gather`` (the services' own dicts), the
reader's language and its ``gettext``, and returns what the template prints: labelled rows
already formatted in the reader's language, Vega-Lite specs made by ``analytics.charts``
(the very charts of the Measure pages), and sentences. The only arithmetic is the change
against the comparison period (points for rates, percent for counts).

A period without posts, or a section whose inputs are missing, gets a sentence saying so
(``empty``) instead of a table of zeros or dashes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from babel.dates import format_date

from townsquare.analytics import charts, kpis, tables
from townsquare.analytics.narrative import explain_formats, helpers, kpi_label, weekday_names
from townsquare.messages import Message

Gettext = Callable[[str], str]

SECTIONS = (
    "overview",
    "audience-growth",
    "top-posts",
    "formats",
    "best-times",
    "links",
    "listening",
    "work-delivered",
)
DEFAULT_SECTIONS = SECTIONS

# The funnel of the overview: (stage, KPIs). Care needs the inbox, which does not exist yet.
AWARENESS = ("reach", "impressions", "reach_rate", "audience_growth_rate")
ENGAGEMENT = (
    "interactions",
    "engagement_rate_by_reach",
    "engagement_rate_by_impressions",
    "engagement_rate_by_followers",
    "engaged_users_by_reach",
    "daily_engagement_rate",
    "conversation_rate",
    "amplification_rate",
    "applause_rate",
    "virality_rate",
)
CONVERSION = ("clicks", "click_through_rate")
TEXT_LIMIT = 220
ABSENT = re.compile(r"^no post has (.+): the source does not provide it$")


class Builder:
    """Formats and names things in one language; builds each section."""

    def __init__(self, language: str, gettext: Gettext) -> None:
        self.language = language
        self._ = gettext
        self.h = helpers(language, gettext)
        self.used_kpis: list[str] = []

    # --- small pieces -------------------------------------------------------------------

    def num(self, value: Any, unit: str = "count") -> str:
        return str(self.h["num"](value, unit))

    def day(self, value: date | str) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return format_date(day, format="long", locale=self.language)

    def period_text(self, period: Mapping[str, str] | None) -> str:
        if not period:
            return ""
        return self._("%(start)s to %(end)s") % {
            "start": self.day(period["from"]),
            "end": self.day(period["to"]),
        }

    def label(self, name: str) -> str:
        if name not in self.used_kpis and name in kpis.REGISTRY:
            self.used_kpis.append(name)
        return kpi_label(name, self.language)

    def change(self, now: Any, before: Any, unit: str) -> str:
        if not _is_number(now) or not _is_number(before):
            return ""
        if unit == "percent":
            diff = float(now) - float(before)
            sign = "+" if diff > 0 else ""
            return self._("%(value)s pts") % {"value": sign + self.num(round(diff, 2))}
        if float(before) == 0:
            return ""
        relative = (float(now) - float(before)) / float(before) * 100.0
        sign = "+" if relative > 0 else ""
        return sign + self.num(round(relative, 1), "percent")

    def kpi_rows(
        self, names: Sequence[str], group: Mapping[str, Any], before: Mapping[str, Any] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Rows of a KPI table: a rate gives two rows (its two averages, named)."""
        rows: list[dict[str, Any]] = []
        missing: list[str] = []
        for name in names:
            kpi = kpis.REGISTRY[name]
            cell = tables.kpi_cell(group, name)
            old = tables.kpi_cell(before, name) if before else None
            label = self.label(name)
            if tables.is_rate(kpi):
                variants = (
                    ("mean_of_ratios", self._("mean of ratios")),
                    ("ratio_of_sums", self._("ratio of sums")),
                )
                if cell["mean_of_ratios"] is None:
                    missing.append(f"{label}: {self.reason(cell['reason'])}")
                    continue
                for index, (variant, variant_label) in enumerate(variants):
                    rows.append(
                        self._row(
                            kpi,
                            label if index == 0 else "",
                            variant_label,
                            cell[variant],
                            old[variant] if old else None,
                            variant,
                        )
                    )
            else:
                if cell["value"] is None:
                    missing.append(f"{label}: {self.reason(cell['reason'])}")
                    continue
                variant_label = (
                    self._("mean per post") if kpi.kind == "count" else self._("over the period")
                )
                rows.append(
                    self._row(
                        kpi,
                        label,
                        variant_label,
                        cell["value"],
                        old["value"] if old else None,
                        "value",
                    )
                )
        return rows, missing

    def _row(
        self, kpi: kpis.Kpi, label: str, variant: str, now: Any, before: Any, key: str
    ) -> dict[str, Any]:
        return {
            "kpi": kpi.name,
            "label": label,
            "variant": variant,
            "variant_key": key,
            "value": self.num(now, kpi.unit),
            "previous": self.num(before, kpi.unit) if before is not None else "",
            "change": self.change(now, before, kpi.unit),
            "raw": now,
        }

    def reason(self, text: str | None) -> str:
        """Measure's reason for an unknown figure, in the reader's language."""
        if not text:
            return self._("unknown")
        if isinstance(text, Message):  # its values (the inputs' names) translated too
            return text.localize(self._)
        match = ABSENT.match(text)
        if match:
            names = ", ".join(self._(name) for name in match.group(1).split(", "))
            return self._("no post has %(inputs)s: the source does not provide it") % {
                "inputs": names
            }
        return self._(text)

    def no_posts(self, channel: Mapping[str, Any]) -> str:
        return self._(
            "No post of %(channel)s was published in this period: there is nothing to measure."
        ) % {"channel": channel["name"]}

    # --- sections -----------------------------------------------------------------------

    def overview(
        self, channel: Mapping[str, Any], links: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        summary = channel["kpis"]
        if not summary["groups"]:
            return {"empty": self.no_posts(channel)}
        group = summary["groups"][0]
        previous = channel.get("previous")
        before = previous["groups"][0] if previous and previous["groups"] else None
        stages = []
        missing: list[str] = []
        for stage, names in (
            (self._("Awareness"), AWARENESS),
            (self._("Engagement"), ENGAGEMENT),
            (self._("Conversion"), CONVERSION),
        ):
            rows, lacking = self.kpi_rows(names, group, before)
            missing += lacking
            stages.append({"title": stage, "rows": rows})
        audience = summary.get("audience") or {}
        followers = None
        if audience.get("last"):
            followers = self._("%(count)s followers on %(date)s") % {
                "count": self.num(audience["last"]["followers"]),
                "date": self.day(audience["last"]["date"]),
            }
        out: dict[str, Any] = {
            "posts": self.num(summary["posts"]),
            "previous_posts": self.num(previous["posts"]) if previous else None,
            "followers": followers,
            "stages": stages,
            "missing": missing,
            "chart": None,
        }
        if before is not None and tables.has_figure(summary["groups"], "engagement_rate_by_reach"):
            now_key = self._("This period")
            old_key = self._("Comparison period")
            out["chart"] = {
                "title": self._("%(kpi)s, this period and the comparison period")
                % {"kpi": self.label("engagement_rate_by_reach")},
                "spec": charts.kpi_chart(
                    [{**group, "key": now_key}, {**before, "key": old_key}],
                    "engagement_rate_by_reach",
                    kpi_label=self.label("engagement_rate_by_reach"),
                    group_label=self._("Period"),
                    mean_label=self._("Mean of ratios"),
                    sums_label=self._("Ratio of sums"),
                    unit="%",
                ),
            }
        return out

    def links_summary(self, links: Mapping[str, Any] | None) -> dict[str, Any]:
        if not links:
            return {"empty": self._("No short link data.")}
        current = links["current"]
        clicks = current["clicks"]
        if not clicks["total"]:
            return {
                "empty": self._(
                    "No click on the workspace's short links in this period (%(links)s links)."
                )
                % {"links": self.num(current["links"])}
            }
        previous = links.get("previous")
        old = previous["clicks"] if previous else {}
        rows = [
            (self._("Human clicks"), clicks["human"], old.get("human")),
            (self._("Bot clicks (crawlers, link previews)"), clicks["bot"], old.get("bot")),
            (
                self._("Unique visitors per day, added up"),
                current["unique_visitors"],
                previous["unique_visitors"] if previous else None,
            ),
        ]
        table = [
            {
                "label": label,
                "value": self.num(now),
                "previous": self.num(before) if before is not None else "",
                "change": self.change(now, before, "count"),
            }
            for label, now, before in rows
        ]
        ctr = current.get("click_through_rate")
        ctr_text = (
            self.num(ctr * 100.0, "percent")
            if ctr is not None
            else self._("unknown: no short link belongs to a post with impressions")
        )
        campaigns = [
            {
                "name": c["campaign"],
                "links": self.num(c["links"]),
                "human": self.num(c["clicks"]["human"]),
                "bot": self.num(c["clicks"]["bot"]),
                "ctr": self.num(c["click_through_rate"] * 100.0, "percent")
                if c["click_through_rate"] is not None
                else "—",
            }
            for c in links.get("campaigns", [])
        ]
        return {"rows": table, "ctr": ctr_text, "campaigns": campaigns}

    def audience(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        by_month = channel.get("by_month") or {"groups": []}
        audience = channel["kpis"].get("audience") or {}
        if (audience.get("snapshots") or 0) < 2:
            return {
                "empty": self._(
                    "Fewer than two follower counts of %(channel)s in this period: its growth "
                    "cannot be measured. Import the channel's follower counts to see it."
                )
                % {"channel": channel["name"]}
            }
        rows = [
            {
                "month": group["key"],
                "posts": self.num(group["posts"]),
                "growth": self.num(group["kpis"].get("audience_growth_rate"), "percent"),
            }
            for group in by_month["groups"]
        ]
        name = self.label("audience_growth_rate")
        chart = None
        charted = [
            g for g in by_month["groups"] if _is_number(g["kpis"].get("audience_growth_rate"))
        ]
        if len(charted) >= 2:  # one month is the figure above; a chart would add nothing
            chart = {
                "title": self._("%(kpi)s by month") % {"kpi": name},
                "spec": charts.kpi_chart(
                    by_month["groups"],
                    "audience_growth_rate",
                    kpi_label=name,
                    group_label=self._("Month"),
                    mean_label=self._("Mean of ratios"),
                    sums_label=self._("Ratio of sums"),
                    unit="%",
                ),
            }
        return {
            "first": self._("%(count)s followers on %(date)s")
            % {
                "count": self.num(audience["first"]["followers"]),
                "date": self.day(audience["first"]["date"]),
            },
            "last": self._("%(count)s followers on %(date)s")
            % {
                "count": self.num(audience["last"]["followers"]),
                "date": self.day(audience["last"]["date"]),
            },
            "growth": self.num(audience.get("audience_growth_rate"), "percent"),
            "growth_label": name,
            "rows": rows,
            "chart": chart,
        }

    def top_posts(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        posts = channel.get("posts") or {"top": [], "bottom": [], "posts": 0}
        metric = posts.get("metric") or channel["metric"]
        unit = kpis.REGISTRY[metric].unit
        if not posts["top"]:
            if not channel["kpis"]["posts"]:
                return {"empty": self.no_posts(channel)}
            return {
                "empty": self._("No post of this period has %(kpi)s: posts cannot be ranked.")
                % {"kpi": self.label(metric)}
            }

        def rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            return [
                {
                    "date": self.day(entry["published_at"][:10]) if entry["published_at"] else "",
                    "format": self.h["group_name"]("format", entry["format"]),
                    "text": _shorten(entry["text"]) or self._("(no text)"),
                    "permalink": entry["permalink"],
                    "value": self.num(entry["value"], unit),
                }
                for entry in entries
            ]

        return {
            "metric": self.label(metric),
            "top": rows(posts["top"]),
            "bottom": rows(posts["bottom"]),
        }

    def formats(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        result = channel.get("formats")
        if not result or not result["groups"]:
            if not channel["kpis"]["posts"]:
                return {"empty": self.no_posts(channel)}
            return {
                "empty": self._("No post of this period has %(kpi)s: formats cannot be compared.")
                % {"kpi": self.label(channel["metric"])}
            }
        metric = result["metric"]
        unit = result["unit"]
        name = self.label(metric)
        counterpart = channel.get("formats_counterpart")
        sentences = explain_formats(
            result,
            counterpart,
            metric_label=name,
            counterpart_label=self.label(counterpart["metric"]) if counterpart else "",
            gettext=self._,
            fmt=lambda value, u: tables.number(value, u, self.language),
            unit=unit,
        )
        rows = [
            {
                "format": self.h["group_name"]("format", group["key"]),
                "n": self.num(group["n"]),
                "median": self.num(group["median"], unit),
                "ci": f"{self.num(group['ci_low'], unit)} – {self.num(group['ci_high'], unit)}",
                "small": group.get("small_sample"),
            }
            for group in result["groups"]
        ]
        spec = charts.formats_chart(
            result,
            metric_label=name + (" (%)" if unit == "percent" else ""),
            format_label=self._("Format"),
            median_label=self._("median"),
            ci_label=self._("95% CI"),
            small_label=self._("small sample"),
            enough_label=self._("enough posts"),
        )
        return {
            "metric": name,
            "rows": rows,
            "sentences": [{"kind": s.kind, "text": s.text} for s in sentences],
            "chart": {"title": self._("Median %(kpi)s by format") % {"kpi": name}, "spec": spec},
        }

    def best_times(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        result = channel.get("best_times")
        if not result or not result["cells"]:
            if not channel["kpis"]["posts"]:
                return {"empty": self.no_posts(channel)}
            return {
                "empty": self._("No post of this period has a known time and %(kpi)s.")
                % {"kpi": self.label(channel["metric"])}
            }
        unit = result["unit"]
        name = self.label(result["metric"])
        days = weekday_names(self._)
        slots = [
            {
                "slot": f"{days[slot['weekday'] - 1]} {slot['hour']:02d}:00",
                "evidence": self.h["slot_evidence"](slot, unit),
            }
            for slot in result["recommended"]
        ]
        spec = charts.best_times_heatmap(
            result["cells"],
            metric_label=name + (" (%)" if unit == "percent" else ""),
            weekday_names=days,
            weekday_label=self._("Weekday"),
            hour_label=self._("Hour"),
            median_label=self._("median"),
            recommended=result["recommended"],
        )
        return {
            "metric": name,
            "timezone": result["timezone"],
            "slots": slots,
            "no_slot": None
            if slots
            else self._("No weekday and hour has enough posts to be recommended yet."),
            "chart": {
                "title": self._("Median %(kpi)s by weekday and hour (%(zone)s)")
                % {"kpi": name, "zone": result["timezone"]},
                "spec": spec,
            },
        }

    def work(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        work = channel.get("work") or {"posts": 0, "links": 0}
        return {
            "posts": self.num(work["posts"]),
            "links": self.num(work["links"]),
            "empty": None
            if work["posts"] or work["links"]
            else self._("Nothing was published on %(channel)s in this period.")
            % {"channel": channel["name"]},
        }

    def listening(self, listening: Mapping[str, Any] | None) -> dict[str, Any]:
        """Volume per watch against the comparison period, share of voice, sentiment and
        spike hours (Listen's own figures)."""
        if not listening or not listening["watches"]:
            return {"empty": self._("No watch in this workspace: nothing is listened to yet.")}
        if not any(watch["mentions"] for watch in listening["watches"]):
            return {"empty": self._("No mention was found in this period.")}
        watches = []
        for watch in listening["watches"]:
            counts = watch["sentiment"] or {}
            classified = sum(counts.get(name, 0) for name in ("negative", "neutral", "positive"))

            def share(
                name: str, counts: Mapping[str, int] = counts, total: int = classified
            ) -> str:
                return self.num(counts.get(name, 0) / total * 100.0, "percent") if total else "—"

            watches.append(
                {
                    "name": watch["name"],
                    "kind": self._(watch["kind"]),
                    "mentions": self.num(watch["mentions"]),
                    "previous": self.num(watch["previous"])
                    if watch["previous"] is not None
                    else "",
                    "change": self.change(watch["mentions"], watch["previous"], "count"),
                    "positive": share("positive"),
                    "neutral": share("neutral"),
                    "negative": share("negative"),
                    "spikes": self.num(len(watch["spikes"])),
                }
            )
        voices = [
            {
                "name": voice["watch"],
                "mentions": self.num(
                    voice["share_by_mentions"] * 100.0
                    if voice["share_by_mentions"] is not None
                    else None,
                    "percent",
                ),
                "reach": self.num(
                    voice["share_by_reach"] * 100.0
                    if voice["share_by_reach"] is not None
                    else None,
                    "percent",
                ),
            }
            for voice in listening["share_of_voice"]
        ]
        from townsquare.listening.charts import volume_spec

        return {
            "watches": watches,
            "voices": voices if any(v["mentions"] != "—" for v in voices) else [],
            "chart": {
                "title": self._("Mentions per day and watch"),
                "spec": volume_spec(listening["volume"], self._("Mentions")),
            },
        }

    def glossary(self) -> list[dict[str, Any]]:
        out = []
        for name in self.used_kpis:
            kpi = kpis.REGISTRY[name]
            out.append(
                {
                    "name": name,
                    "label": kpi_label(name, self.language),
                    "formula": self._(kpi.formula),
                    "unit": self._("percent (%)") if kpi.unit == "percent" else self._("count"),
                    "source": self._(kpi.source),
                    # A cited title has no translation: it is marked as English.
                    "source_lang": "en"
                    if self.language != "en" and self._(kpi.source) == kpi.source
                    else None,
                }
            )
        return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"


def section_titles(gettext: Gettext) -> dict[str, str]:
    _ = gettext
    return {
        "overview": _("Overview"),
        "audience-growth": _("Audience growth"),
        "top-posts": _("Top and bottom posts"),
        "formats": _("Formats"),
        "best-times": _("Best times to post"),
        "links": _("Links and campaigns"),
        "listening": _("Listening"),
        "work-delivered": _("Work delivered"),
        "glossary": _("Glossary of the KPIs used"),
    }


def build(
    figures: Mapping[str, Any],
    *,
    sections: Sequence[str],
    commentary: Mapping[str, str],
    language: str,
    gettext: Gettext,
) -> dict[str, Any]:
    """The document: its sections in the chosen order, then the glossary."""
    builder = Builder(language, gettext)
    titles = section_titles(gettext)
    out = []
    links = figures.get("links")
    for key in sections:
        entry: dict[str, Any] = {
            "key": key,
            "title": titles[key],
            "commentary": (commentary.get(key) or "").strip(),
            "channels": [],
        }
        if key == "links":
            entry["links"] = builder.links_summary(links)
        if key == "listening":
            entry["listening"] = builder.listening(figures.get("listening"))
        for channel in figures["channels"]:
            part = {
                "overview": builder.overview,
                "audience-growth": builder.audience,
                "top-posts": builder.top_posts,
                "formats": builder.formats,
                "best-times": builder.best_times,
                "work-delivered": builder.work,
            }.get(key)
            if part is None:
                continue
            content = part(channel, links) if key == "overview" else part(channel)  # type: ignore[operator]
            entry["channels"].append(
                {"name": channel["name"], "network": channel["network"], **content}
            )
        if key == "overview":
            entry["links"] = builder.links_summary(links)
        out.append(entry)
    return {
        "sections": out,
        "glossary": builder.glossary(),
        "period_text": builder.period_text(figures["period"]),
        "comparison_text": builder.period_text(figures.get("comparison")),
    }
