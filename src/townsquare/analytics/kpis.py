"""The KPI registry: every number Measure reports, with its formula, unit, inputs and source.

The field has no agreed engagement rate; every vendor computes its own and hides how. Here
each variant has a name, a formula written out, and a citation, and the two ways of
averaging a rate over a group of posts are always reported side by side, labelled:

- **mean of ratios**: compute the rate of every post, then average them (each post counts
  the same, whatever its audience);
- **ratio of sums**: add up the numerators and the denominators of the group, then divide
  (big posts weigh more; this is what "the channel's rate" usually means).

On the UCI Facebook file they differ a lot (engaged users / reach: 12.4 % vs 6.6 %).

Unknown is not zero: a metric that a source does not provide is ``NaN`` in the arrays
given to the formulas (``NULL`` in the database). A post with an unknown input gets an
unknown value, and a group where no post has the inputs gets ``None`` with a reason, never
a figure computed from zeros.

The formulas themselves (per-post values, both averages, the grouped one-pass versions)
are pure functions over numpy arrays in ``formulas.py``; this module is the registry.
No I/O in either.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from townsquare.errors import ValidationError
from townsquare.messages import Message

KpiKind = Literal["count", "rate", "daily", "channel"]
Unit = Literal["count", "percent"]

# The metrics that always make up "interactions"; a workspace may add the optional ones in
# its settings (``settings["interactions_include"] = ["saves", "clicks"]``).
INTERACTION_BASE = ("reactions", "comments", "shares")
INTERACTION_OPTIONAL = ("saves", "clicks")
INTERACTIONS_SETTING = "interactions_include"

# Best times: a weekday × hour cell needs this many posts to be recommended (here, without
# numpy, so that the command line's --min-posts default needs no numeric module).
MIN_SLOT_POSTS = 10

# Publication precisions that know the calendar day (needed by the daily engagement rate).
DAY_PRECISIONS = frozenset({"second", "minute", "hour", "day"})

_KAUSHIK = (
    "Avinash Kaushik, 'Best Social Media Metrics: Conversation, Amplification, Applause, "
    "Economic Value', Occam's Razor blog, 10 Oct 2011"
)
_HOOTSUITE_ER = (
    "Hootsuite, 'How to calculate engagement rate' (ERR by reach, ER by impressions, "
    "ER by followers); Rival IQ, 'Social Media Industry Benchmark Report' (2024)"
)


@dataclass(frozen=True)
class Kpi:
    """One named figure.

    ``numerator``/``denominator`` name inputs: metric columns (``reach``…),
    ``followers_at_publish``, or ``interactions`` (expanded with the workspace's
    interaction components by :func:`required_inputs`). A count KPI has a numerator only.
    """

    name: str
    label: str
    formula: str
    unit: Unit
    kind: KpiKind
    numerator: tuple[str, ...]
    denominator: str | None
    source: str
    description: str
    label_fr: str = ""

    @property
    def metrics(self) -> tuple[str, ...]:
        """The inputs it needs, with ``interactions`` left unexpanded (for the glossary)."""
        return self.numerator + ((self.denominator,) if self.denominator else ())

    @property
    def per_post(self) -> bool:
        """Whether every post has its own value (what formats and best-times compare)."""
        return self.kind in ("count", "rate")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "label_fr": self.label_fr or self.label,
            "formula": self.formula,
            "unit": self.unit,
            "kind": self.kind,
            "metrics": list(self.metrics),
            "per_post": self.per_post,
            "source": self.source,
            "description": self.description,
        }


def _count(name: str, label: str, label_fr: str, description: str) -> Kpi:
    return Kpi(
        name=name,
        label=label,
        label_fr=label_fr,
        formula=name,
        unit="count",
        kind="count",
        numerator=(name,),
        denominator=None,
        source="as reported by the network (lifetime value: the post's latest snapshot)",
        description=description,
    )


KPIS: tuple[Kpi, ...] = (
    Kpi(
        name="interactions",
        label="Interactions",
        label_fr="Interactions",
        formula="reactions + comments + shares (+ saves, clicks when the workspace adds them)",
        unit="count",
        kind="count",
        numerator=("interactions",),
        denominator=None,
        source=_HOOTSUITE_ER,
        description="Public actions on a post. Per group: mean per post.",
    ),
    Kpi(
        name="engagement_rate_by_reach",
        label="Engagement rate by reach",
        label_fr="Taux d'engagement par portée",
        formula="interactions / reach × 100",
        unit="percent",
        kind="rate",
        numerator=("interactions",),
        denominator="reach",
        source=_HOOTSUITE_ER,
        description="Share of the people reached who interacted (at most one action each "
        "is not guaranteed: one person may react and comment).",
    ),
    Kpi(
        name="engagement_rate_by_impressions",
        label="Engagement rate by impressions",
        label_fr="Taux d'engagement par impressions",
        formula="interactions / impressions × 100",
        unit="percent",
        kind="rate",
        numerator=("interactions",),
        denominator="impressions",
        source=_HOOTSUITE_ER,
        description="Interactions per hundred displays; favoured for paid posts.",
    ),
    Kpi(
        name="engagement_rate_by_followers",
        label="Engagement rate by followers",
        label_fr="Taux d'engagement par abonnés",
        formula="interactions / followers at publish time × 100",
        unit="percent",
        kind="rate",
        numerator=("interactions",),
        denominator="followers_at_publish",
        source=_HOOTSUITE_ER,
        description="Needs no reach data, so it compares across networks and competitors.",
    ),
    Kpi(
        name="engaged_users_by_reach",
        label="Engaged users by reach",
        label_fr="Utilisateurs engagés par portée",
        formula="engaged users / reach × 100",
        unit="percent",
        kind="rate",
        numerator=("engaged_users",),
        denominator="reach",
        source="Facebook Page Insights 'Lifetime Engaged Users' (any click on the post); "
        "Moro, Rita & Vala (2016), J. Business Research 69(9)",
        description="Unique people who clicked anywhere on the post, per hundred reached.",
    ),
    Kpi(
        name="daily_engagement_rate",
        label="Daily engagement rate",
        label_fr="Taux d'engagement quotidien",
        formula="interactions of the posts of a day / followers that day × 100; "
        "mean over the days with posts (mean of ratios) or summed (ratio of sums)",
        unit="percent",
        kind="daily",
        numerator=("interactions",),
        denominator="followers_at_publish",
        source="Rival IQ / Hootsuite, 'daily engagement rate' (engagement per day, "
        "independent of how many posts were published)",
        description="Needs the calendar day of each post; sources that only give "
        "month/weekday/hour cannot provide it.",
    ),
    Kpi(
        name="conversation_rate",
        label="Conversation rate",
        label_fr="Taux de conversation",
        formula="comments / followers at publish time × 100",
        unit="percent",
        kind="rate",
        numerator=("comments",),
        denominator="followers_at_publish",
        source=_KAUSHIK,
        description="Kaushik: replies per post per follower.",
    ),
    Kpi(
        name="amplification_rate",
        label="Amplification rate",
        label_fr="Taux d'amplification",
        formula="shares / followers at publish time × 100",
        unit="percent",
        kind="rate",
        numerator=("shares",),
        denominator="followers_at_publish",
        source=_KAUSHIK,
        description="Kaushik: how much followers pass the post on to their own networks.",
    ),
    Kpi(
        name="applause_rate",
        label="Applause rate",
        label_fr="Taux d'approbation",
        formula="reactions / followers at publish time × 100",
        unit="percent",
        kind="rate",
        numerator=("reactions",),
        denominator="followers_at_publish",
        source=_KAUSHIK,
        description="Kaushik: approvals (likes, reactions, favourites) per follower.",
    ),
    Kpi(
        name="reach_rate",
        label="Reach rate",
        label_fr="Taux de portée",
        formula="reach / followers at publish time × 100",
        unit="percent",
        kind="rate",
        numerator=("reach",),
        denominator="followers_at_publish",
        source="Hootsuite, 'reach rate' (post reach / total followers)",
        description="Above 100 % when non-followers are reached (shares, ads).",
    ),
    Kpi(
        name="virality_rate",
        label="Virality",
        label_fr="Viralité",
        formula="shares / impressions × 100",
        unit="percent",
        kind="rate",
        numerator=("shares",),
        denominator="impressions",
        source="Hootsuite, 'virality rate' (shares / impressions)",
        description="Shares per hundred displays.",
    ),
    Kpi(
        name="click_through_rate",
        label="Click-through rate",
        label_fr="Taux de clics",
        formula="clicks / impressions × 100",
        unit="percent",
        kind="rate",
        numerator=("clicks",),
        denominator="impressions",
        source="IAB, 'Glossary of interactive advertising terms' (click rate)",
        description="Clicks on the post's link per hundred displays.",
    ),
    Kpi(
        name="audience_growth_rate",
        label="Audience growth rate",
        label_fr="Taux de croissance de l'audience",
        formula="(followers at end − followers at start) / followers at start × 100",
        unit="percent",
        kind="channel",
        numerator=("followers",),
        denominator="followers",
        source="Hootsuite, 'audience growth rate' (net new followers / starting audience)",
        description="From the channel's follower snapshots over the period; a property "
        "of the channel, not of a group of posts.",
    ),
    _count("reach", "Reach", "Portée", "People who saw the post at least once."),
    _count("impressions", "Impressions", "Impressions", "Times the post was displayed."),
    _count("reactions", "Reactions", "Réactions", "Likes and other reactions."),
    _count("comments", "Comments", "Commentaires", "Comments on the post."),
    _count("shares", "Shares", "Partages", "Shares, reposts, boosts."),
    _count("saves", "Saves", "Enregistrements", "Times the post was saved or bookmarked."),
    _count("clicks", "Clicks", "Clics", "Clicks on the post's link."),
    _count("video_views", "Video views", "Vues de vidéo", "Views as counted by the network."),
    _count("engaged_users", "Engaged users", "Utilisateurs engagés", "People who clicked."),
)

REGISTRY: dict[str, Kpi] = {kpi.name: kpi for kpi in KPIS}

# What ``measure kpis`` reports for every group (the raw counters are left to formats and
# best-times, where they can be compared with --metric).
SUMMARY_KPIS: tuple[str, ...] = (
    "interactions",
    "engagement_rate_by_reach",
    "engagement_rate_by_impressions",
    "engagement_rate_by_followers",
    "engaged_users_by_reach",
    "daily_engagement_rate",
    "conversation_rate",
    "amplification_rate",
    "applause_rate",
    "reach_rate",
    "virality_rate",
    "click_through_rate",
    "audience_growth_rate",
)


def get_kpi(name: str, *, per_post: bool = False, field_name: str = "metric") -> Kpi:
    """The KPI called ``name``; an unknown name is refused with the closest names."""
    clean = name.strip().lower().replace("-", "_").replace(" ", "_")
    kpi = REGISTRY.get(clean)
    if kpi is None:
        close = difflib.get_close_matches(clean, list(REGISTRY), n=3, cutoff=0.5)
        hint = (
            Message("did you mean %(names)s?", names=", ".join(close))
            if close
            else Message("list them with `townsquare measure glossary`")
        )
        raise ValidationError(
            "unknown KPI '%(name)s': %(hint)s",
            params={"name": name, "hint": hint},
            field=field_name,
        )
    if per_post and not kpi.per_post:
        choices = ", ".join(k.name for k in KPIS if k.per_post)
        raise ValidationError(
            "'%(name)s' is not a per-post figure (%(kind)s), so posts cannot be compared on it: "
            "choose one of %(choices)s",
            params={"name": kpi.name, "kind": kpi.kind, "choices": choices},
            field=field_name,
        )
    return kpi


def interaction_components(workspace_settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The metrics summed as "interactions" in a workspace (base + chosen optional ones)."""
    extra = (workspace_settings or {}).get(INTERACTIONS_SETTING) or []
    chosen = tuple(m for m in INTERACTION_OPTIONAL if m in extra)
    return INTERACTION_BASE + chosen


def expand(inputs: Sequence[str], components: Sequence[str]) -> tuple[str, ...]:
    """Inputs with ``interactions`` replaced by its components."""
    out: list[str] = []
    for name in inputs:
        for part in components if name == "interactions" else (name,):
            if part not in out:
                out.append(part)
    return tuple(out)


def required_inputs(kpi: Kpi, components: Sequence[str] = INTERACTION_BASE) -> tuple[str, ...]:
    """Every column a KPI reads, ``interactions`` expanded."""
    return expand(kpi.metrics, components)


def glossary() -> list[dict[str, Any]]:
    """Every KPI as plain data, for the glossary page and ``GET /api/v1/kpis``."""
    return [kpi.as_dict() for kpi in KPIS]
