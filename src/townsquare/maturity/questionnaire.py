"""The maturity questionnaire: eight competencies, four stages, one statement each.

Every statement is ours (written for townsquare, not taken from a published model) and
describes a practice: the more true it is, the further along the competency is. Each is
answered on the scale below; the method that turns answers into scores and stages is in
``maturity/scoring.py`` and written down in docs/maturity.md.

Texts are bilingual here (not in a .po catalog) because the CLI and the API return both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = "2026-12"
SCALE_MIN = 1
SCALE_MAX = 5

Text = dict[str, str]  # {"fr": …, "en": …}

SCALE_LABELS: dict[int, Text] = {
    1: {"en": "Not true at all", "fr": "Pas du tout vrai"},
    2: {"en": "Rarely true", "fr": "Rarement vrai"},
    3: {"en": "Partly true", "fr": "En partie vrai"},
    4: {"en": "Mostly true", "fr": "Plutôt vrai"},
    5: {"en": "Entirely true", "fr": "Tout à fait vrai"},
}


@dataclass(frozen=True)
class Stage:
    id: str
    name: Text
    description: Text


STAGES: tuple[Stage, ...] = (
    Stage(
        "early",
        {"en": "Early: hierarchy", "fr": "Débuts : hiérarchie"},
        {
            "en": "Communication goes top-down; there is no community practice yet.",
            "fr": "La communication descend de la hiérarchie ; pas encore de pratique de "
            "communauté.",
        },
    ),
    Stage(
        "emergent",
        {"en": "Emergent community", "fr": "Communauté émergente"},
        {
            "en": "A few people and practices look after the community, often informally.",
            "fr": "Quelques personnes et pratiques s’occupent de la communauté, souvent de "
            "façon informelle.",
        },
    ),
    Stage(
        "established",
        {"en": "Established community", "fr": "Communauté établie"},
        {
            "en": "The community has goals, people, rules and rhythms the organisation relies on.",
            "fr": "La communauté a des objectifs, des personnes, des règles et des rythmes sur "
            "lesquels l’organisation s’appuie.",
        },
    ),
    Stage(
        "networked",
        {"en": "Networked organisation", "fr": "Organisation en réseau"},
        {
            "en": "The organisation works with its community: members share the work and the "
            "decisions.",
            "fr": "L’organisation travaille avec sa communauté : les membres partagent le "
            "travail et les décisions.",
        },
    ),
)
STAGE_IDS = tuple(stage.id for stage in STAGES)


@dataclass(frozen=True)
class Statement:
    id: str
    stage: str
    text: Text


@dataclass(frozen=True)
class Competency:
    id: str
    name: Text
    statements: tuple[Statement, ...]


def _competency(cid: str, name: Text, texts: tuple[Text, Text, Text, Text]) -> Competency:
    statements = tuple(
        Statement(f"{cid}.{stage}", stage, text)
        for stage, text in zip(STAGE_IDS, texts, strict=True)
    )
    return Competency(cid, name, statements)


COMPETENCIES: tuple[Competency, ...] = (
    _competency(
        "strategy",
        {"en": "Strategy", "fr": "Stratégie"},
        (
            {
                "en": "Someone can say in one sentence why we are present on social networks.",
                "fr": "Quelqu’un sait dire en une phrase pourquoi nous sommes présents sur les "
                "réseaux sociaux.",
            },
            {
                "en": "Our community has written goals, separate from our advertising goals.",
                "fr": "Notre communauté a des objectifs écrits, distincts de nos objectifs "
                "publicitaires.",
            },
            {
                "en": "The community's goals are tied to the organisation's goals and reviewed "
                "at least once a year.",
                "fr": "Les objectifs de la communauté sont reliés à ceux de l’organisation et "
                "revus au moins une fois par an.",
            },
            {
                "en": "Members of the community help decide where the organisation is heading.",
                "fr": "Des membres de la communauté participent aux décisions sur l’orientation "
                "de l’organisation.",
            },
        ),
    ),
    _competency(
        "leadership",
        {"en": "Leadership", "fr": "Leadership"},
        (
            {
                "en": "A manager has agreed that time be spent on our online presence.",
                "fr": "Un responsable a accepté que du temps soit consacré à notre présence en "
                "ligne.",
            },
            {
                "en": "A named sponsor in management defends the community's budget and time.",
                "fr": "Un sponsor nommé dans la direction défend le budget et le temps consacrés "
                "à la communauté.",
            },
            {
                "en": "Leaders take part in the community themselves: they answer, post and "
                "listen.",
                "fr": "Les dirigeants participent eux-mêmes à la communauté : ils répondent, "
                "publient et écoutent.",
            },
            {
                "en": "Leaders share decisions with the community before they are final.",
                "fr": "Les dirigeants partagent leurs décisions avec la communauté avant qu’elles "
                "soient définitives.",
            },
        ),
    ),
    _competency(
        "culture",
        {"en": "Culture", "fr": "Culture"},
        (
            {
                "en": "People inside the organisation know which accounts speak in our name.",
                "fr": "Les personnes de l’organisation savent quels comptes parlent en notre nom.",
            },
            {
                "en": "Colleagues outside the communication team sometimes answer or share in "
                "the community.",
                "fr": "Des collègues hors de l’équipe communication répondent ou partagent "
                "parfois dans la communauté.",
            },
            {
                "en": "Feedback from the community regularly changes how we work or what we make.",
                "fr": "Les retours de la communauté modifient régulièrement notre façon de "
                "travailler ou ce que nous produisons.",
            },
            {
                "en": "Working in the open, with members, is the usual way things get done here.",
                "fr": "Travailler ouvertement, avec les membres, est notre manière habituelle de "
                "faire.",
            },
        ),
    ),
    _competency(
        "community_management",
        {"en": "Community management", "fr": "Animation de communauté"},
        (
            {
                "en": "Messages and comments we receive get an answer, even a late one.",
                "fr": "Les messages et commentaires reçus obtiennent une réponse, même tardive.",
            },
            {
                "en": "At least one person has community management in their job description.",
                "fr": "Au moins une personne a l’animation de communauté dans sa fiche de poste.",
            },
            {
                "en": "Moderation, response times and thanks to members keep their rhythm even "
                "when someone is away.",
                "fr": "La modération, les délais de réponse et les remerciements aux membres "
                "gardent leur rythme même quand quelqu’un est absent.",
            },
            {
                "en": "Members welcome, help and moderate each other, with our support.",
                "fr": "Les membres s’accueillent, s’entraident et se modèrent entre eux, avec "
                "notre soutien.",
            },
        ),
    ),
    _competency(
        "content",
        {"en": "Content and programming", "fr": "Contenus et programmation"},
        (
            {
                "en": "We publish regularly on at least one channel.",
                "fr": "Nous publions régulièrement sur au moins un canal.",
            },
            {
                "en": "An editorial calendar plans our posts weeks ahead.",
                "fr": "Un calendrier éditorial planifie nos publications plusieurs semaines à "
                "l’avance.",
            },
            {
                "en": "We run recurring formats (events, series, open questions) made for "
                "conversation, not only announcements.",
                "fr": "Nous animons des formats récurrents (événements, séries, questions "
                "ouvertes) faits pour la conversation, pas seulement pour les annonces.",
            },
            {
                "en": "A good share of what the community reads is created by its members.",
                "fr": "Une bonne part de ce que lit la communauté est créée par ses membres.",
            },
        ),
    ),
    _competency(
        "governance",
        {"en": "Policies and governance", "fr": "Règles et gouvernance"},
        (
            {
                "en": "We know who may post on our accounts and who holds their passwords.",
                "fr": "Nous savons qui peut publier sur nos comptes et qui en détient les mots de "
                "passe.",
            },
            {
                "en": "We have written rules for members (a charter) and for staff who post.",
                "fr": "Nous avons des règles écrites pour les membres (une charte) et pour les "
                "salariés qui publient.",
            },
            {
                "en": "A written escalation path for crises, complaints and legal questions has "
                "been tried at least once.",
                "fr": "Une procédure d’escalade écrite pour les crises, les plaintes et les "
                "questions juridiques a été éprouvée au moins une fois.",
            },
            {
                "en": "Members take part in writing and revising the rules of the community.",
                "fr": "Les membres participent à l’écriture et à la révision des règles de la "
                "communauté.",
            },
        ),
    ),
    _competency(
        "tools",
        {"en": "Tools", "fr": "Outils"},
        (
            {
                "en": "Our accounts can be reached from a shared place, not from one person's "
                "phone.",
                "fr": "Nos comptes sont accessibles depuis un endroit partagé, pas depuis le "
                "téléphone d’une seule personne.",
            },
            {
                "en": "We use a tool to schedule posts and follow mentions across networks.",
                "fr": "Nous utilisons un outil pour programmer les publications et suivre les "
                "mentions sur plusieurs réseaux.",
            },
            {
                "en": "Our tools are chosen for the community's needs and work together "
                "(links, statistics, publishing).",
                "fr": "Nos outils sont choisis selon les besoins de la communauté et fonctionnent "
                "ensemble (liens, statistiques, publication).",
            },
            {
                "en": "We have spaces of our own (a forum, a newsletter, a site) and our data "
                "stays exportable.",
                "fr": "Nous avons des espaces à nous (forum, lettre d’information, site) et nos "
                "données restent exportables.",
            },
        ),
    ),
    _competency(
        "metrics",
        {"en": "Metrics and measurement", "fr": "Indicateurs et mesure"},
        (
            {
                "en": "We look at our follower counts from time to time.",
                "fr": "Nous regardons de temps en temps notre nombre d’abonnés.",
            },
            {
                "en": "We have chosen a few indicators, each with a written formula.",
                "fr": "Nous avons choisi quelques indicateurs, chacun avec une formule écrite.",
            },
            {
                "en": "We report on the community every month, and the report leads to decisions.",
                "fr": "Nous rendons compte de la communauté chaque mois, et ce compte rendu mène "
                "à des décisions.",
            },
            {
                "en": "We measure the value the community creates for its members and the "
                "organisation, not only its activity.",
                "fr": "Nous mesurons la valeur que la communauté crée pour ses membres et pour "
                "l’organisation, pas seulement son activité.",
            },
        ),
    ),
)
COMPETENCY_IDS = tuple(competency.id for competency in COMPETENCIES)
STATEMENTS: dict[str, Statement] = {
    statement.id: statement for competency in COMPETENCIES for statement in competency.statements
}


def competency(cid: str) -> Competency:
    return next(item for item in COMPETENCIES if item.id == cid)


def stage(sid: str) -> Stage:
    return next(item for item in STAGES if item.id == sid)


def questions_json() -> dict[str, Any]:
    """The questionnaire as ``townsquare maturity questions --json`` prints it."""
    return {
        "version": VERSION,
        "scale": {
            "min": SCALE_MIN,
            "max": SCALE_MAX,
            "labels": {str(value): label for value, label in SCALE_LABELS.items()},
        },
        "stages": [
            {"id": item.id, "name": item.name, "description": item.description} for item in STAGES
        ],
        "competencies": [
            {
                "id": item.id,
                "name": item.name,
                "statements": [
                    {"id": s.id, "stage": s.stage, "text": s.text} for s in item.statements
                ],
            }
            for item in COMPETENCIES
        ],
    }
