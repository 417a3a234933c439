"""Concrete next steps for the weakest competencies, several pointing into the product.

For each competency, one step leads to each stage after the first; a competency gets the
step towards the stage after the one it reached. A step may name a place in townsquare
(``target``): the KPI glossary, Measure, Links, Reports, Channels, Members, Publish or the
handle check; :func:`next_steps` turns it into the workspace's address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from townsquare.maturity.questionnaire import STAGE_IDS, Text
from townsquare.maturity.scoring import weakest

# Where each target lives in a workspace, and its name in both languages ("Reports" by name).
TARGETS: dict[str, tuple[str, Text]] = {
    "glossary": ("/measure/glossary", {"en": "KPI glossary", "fr": "Glossaire des KPI"}),
    "measure": ("/measure", {"en": "Measure", "fr": "Mesurer"}),
    "links": ("/links", {"en": "Links", "fr": "Liens"}),
    "reports": ("/reports", {"en": "Reports", "fr": "Rapports"}),
    "channels": ("/channels", {"en": "Channels", "fr": "Canaux"}),
    "members": ("/members", {"en": "Members", "fr": "Membres"}),
    "publish": ("/publish", {"en": "Publish", "fr": "Publier"}),
    "handles": ("/settings/handles", {"en": "Handle availability", "fr": "Noms de compte"}),
}


@dataclass(frozen=True)
class Step:
    competency: str
    stage: str  # the stage it leads to
    text: Text
    target: str | None = None


def _s(competency: str, stage: str, en: str, fr: str, target: str | None = None) -> Step:
    return Step(competency, stage, {"en": en, "fr": fr}, target)


STEPS: tuple[Step, ...] = (
    _s(
        "strategy",
        "emergent",
        "Write down three goals for the community, each with the indicator that will show it "
        "is reached.",
        "Écrivez trois objectifs pour la communauté, chacun avec l’indicateur qui montrera "
        "qu’il est atteint.",
        "glossary",
    ),
    _s(
        "strategy",
        "established",
        "Tie each community goal to a goal of the organisation and book a yearly review.",
        "Reliez chaque objectif de la communauté à un objectif de l’organisation et prévoyez "
        "une revue annuelle.",
    ),
    _s(
        "strategy",
        "networked",
        "Invite a few active members to the next review of the goals.",
        "Invitez quelques membres actifs à la prochaine revue des objectifs.",
    ),
    _s(
        "leadership",
        "emergent",
        "Name a sponsor in management and show them the community's figures every month.",
        "Nommez un sponsor dans la direction et montrez-lui chaque mois les chiffres de la "
        "communauté.",
        "reports",
    ),
    _s(
        "leadership",
        "established",
        "Ask a leader to answer members in person once a week.",
        "Demandez à un dirigeant de répondre lui-même aux membres une fois par semaine.",
    ),
    _s(
        "leadership",
        "networked",
        "Share a decision in progress with the community, then tell it what changed because "
        "of its answers.",
        "Partagez une décision en cours avec la communauté, puis dites-lui ce que ses réponses "
        "ont changé.",
    ),
    _s(
        "culture",
        "emergent",
        "List who speaks for the organisation on which account and share the list inside.",
        "Listez qui parle au nom de l’organisation sur quel compte et partagez la liste en "
        "interne.",
        "channels",
    ),
    _s(
        "culture",
        "established",
        "Bring one piece of community feedback to a team meeting every month.",
        "Apportez chaque mois un retour de la communauté en réunion d’équipe.",
    ),
    _s(
        "culture",
        "networked",
        "Open one project to members from its start instead of announcing it at the end.",
        "Ouvrez un projet aux membres dès son début au lieu de l’annoncer à la fin.",
    ),
    _s(
        "community_management",
        "emergent",
        "Write community management into someone's job, with the hours it takes, and add "
        "them to the workspace.",
        "Inscrivez l’animation de communauté dans le poste de quelqu’un, avec le temps "
        "qu’elle demande, et ajoutez cette personne à l’espace de travail.",
        "members",
    ),
    _s(
        "community_management",
        "established",
        "Set response times and a moderation rota that holds during holidays.",
        "Fixez des délais de réponse et un roulement de modération qui tient pendant les congés.",
        "members",
    ),
    _s(
        "community_management",
        "networked",
        "Give trusted members a role: welcoming newcomers, answering questions, moderating.",
        "Confiez un rôle à des membres de confiance : accueillir les nouveaux, répondre aux "
        "questions, modérer.",
    ),
    _s(
        "content",
        "emergent",
        "Plan a month of posts ahead in an editorial calendar.",
        "Planifiez un mois de publications à l’avance dans un calendrier éditorial.",
        "publish",
    ),
    _s(
        "content",
        "established",
        "Start one recurring format made for conversation, and compare formats in Measure.",
        "Lancez un format récurrent fait pour la conversation, et comparez les formats dans "
        "Mesurer.",
        "measure",
    ),
    _s(
        "content",
        "networked",
        "Feature members' own content regularly, with their consent and their name.",
        "Mettez régulièrement en avant les contenus des membres, avec leur accord et leur nom.",
    ),
    _s(
        "governance",
        "emergent",
        "Write a short charter for members and a page of rules for staff who post.",
        "Rédigez une courte charte pour les membres et une page de règles pour les salariés "
        "qui publient.",
    ),
    _s(
        "governance",
        "established",
        "Write an escalation path for crises and complaints, then rehearse it once.",
        "Écrivez une procédure d’escalade pour les crises et les plaintes, puis répétez-la une "
        "fois.",
    ),
    _s(
        "governance",
        "networked",
        "Revise the charter with members and publish what changed.",
        "Révisez la charte avec les membres et publiez ce qui a changé.",
    ),
    _s(
        "tools",
        "emergent",
        "Connect your accounts in one shared place, so that nobody holds them alone.",
        "Connectez vos comptes dans un endroit partagé, pour que personne ne les détienne seul.",
        "channels",
    ),
    _s(
        "tools",
        "established",
        "Use tracked short links, so that posts, clicks and reports tell the same story.",
        "Utilisez des liens courts suivis, pour que publications, clics et rapports racontent "
        "la même histoire.",
        "links",
    ),
    _s(
        "tools",
        "networked",
        "Claim your name on the platforms you need before opening spaces of your own.",
        "Réservez votre nom sur les plateformes utiles avant d’ouvrir vos propres espaces.",
        "handles",
    ),
    _s(
        "metrics",
        "emergent",
        "Define your KPIs, each with its formula.",
        "Définissez vos KPI, chacun avec sa formule.",
        "glossary",
    ),
    _s(
        "metrics",
        "established",
        "Report monthly on the same KPIs and note the decision each report leads to.",
        "Rendez compte chaque mois des mêmes KPI et notez la décision à laquelle chaque compte "
        "rendu mène.",
        "reports",
    ),
    _s(
        "metrics",
        "networked",
        "Measure what members gain (answers found, people met), not only how many they are.",
        "Mesurez ce que les membres y gagnent (réponses trouvées, rencontres), pas seulement "
        "leur nombre.",
        "measure",
    ),
)


def step_for(competency: str, stage: str) -> Step | None:
    """The step leading to the stage after ``stage`` (None at the last stage)."""
    index = STAGE_IDS.index(stage)
    if index + 1 >= len(STAGE_IDS):
        return None
    wanted = STAGE_IDS[index + 1]
    return next((s for s in STEPS if s.competency == competency and s.stage == wanted), None)


def next_steps(competencies: list[dict[str, Any]], workspace: str) -> list[dict[str, Any]]:
    """``[{"competency", "stage", "text", "target", "label", "url"}]`` for the weakest ones.

    ``url`` is the target's address in workspace ``workspace`` (None without a target).
    """
    found: list[dict[str, Any]] = []
    for item in weakest(competencies):
        step = step_for(item["id"], item["stage"])
        if step is None:
            continue
        path, label = TARGETS[step.target] if step.target else (None, None)
        found.append(
            {
                "competency": step.competency,
                "stage": step.stage,
                "text": step.text,
                "target": step.target,
                "label": label,
                "url": f"/w/{workspace}{path}" if path else None,
            }
        )
    return found
