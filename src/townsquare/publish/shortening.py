"""Short links for a post (when the workspace turns shortening on): every link of a variant
becomes one of townsquare's short links, tagged with UTM source = the network, medium =
social, campaign = the post's campaign, and tied to the post (``publish_post_links``).

Links are made with the Links capability's own rules (``links.urls`` validates and applies
the UTM, ``links.slugs`` draws the slug) inside the caller's transaction, so that a post that
fails to schedule leaves no stray link behind. The mapping original → short URL goes in
``variant.overrides["short_links"]``, which ``content.effective_parts`` applies.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.channels.models import Channel
from townsquare.config import Settings
from townsquare.errors import ValidationError
from townsquare.links import service as links_service
from townsquare.links import slugs, urls
from townsquare.links.models import Link
from townsquare.publish.core_models import PublishPostLink
from townsquare.publish.limits import find_urls
from townsquare.publish.models import PublishPost, PublishVariant
from townsquare.workspaces import audit
from townsquare.workspaces.access import WorkspaceAccess

logger = logging.getLogger(__name__)

GENERATE_ATTEMPTS = 12
UTM_MEDIUM = "social"


def original_urls(post: PublishPost, variant: PublishVariant) -> list[str]:
    """Every distinct URL the variant sends, before shortening, in order of appearance."""
    overrides = variant.overrides or {}
    parts = overrides.get("parts") or post.parts or []
    found: list[str] = []
    for part in parts:
        for url in find_urls(str(part.get("text") or "")):
            if url not in found:
                found.append(url)
    if post.link_url and post.link_url not in found:
        found.append(post.link_url)
    return found


def shorten_variant(
    session: Session,
    access: WorkspaceAccess,
    settings: Settings,
    post: PublishPost,
    variant: PublishVariant,
    channel: Channel,
) -> dict[str, str]:
    """Make (or reuse) the variant's short links and record them in its overrides; returns
    the mapping. A URL the Links capability refuses (e.g. already a short link of this
    server) is left as it is."""
    existing = {
        row.original_url: row
        for row in session.scalars(
            select(PublishPostLink).where(PublishPostLink.variant_id == variant.id)
        )
    }
    mapping: dict[str, str] = {}
    origins = links_service.redirector_origins(settings)
    utm = urls.clean_utm(
        {"utm_source": channel.network, "utm_medium": UTM_MEDIUM, "utm_campaign": post.campaign}
    )
    for original in original_urls(post, variant):
        if original in existing:
            link = session.get(Link, existing[original].link_id)
            if link is not None:
                mapping[original] = links_service.short_url(settings, link.slug)
                continue
        try:
            target = urls.validate_target(original, origins=origins)
        except ValidationError:
            logger.info("not shortening %s: the Links capability refuses it", original)
            continue
        link = _new_link(session, access, post, target, utm)
        session.add(
            PublishPostLink(
                workspace_id=access.workspace_id,
                post_id=post.id,
                variant_id=variant.id,
                link_id=link.id,
                original_url=original,
            )
        )
        mapping[original] = links_service.short_url(settings, link.slug)
    overrides = dict(variant.overrides or {})
    if mapping:
        overrides["short_links"] = mapping
    else:
        overrides.pop("short_links", None)
    variant.overrides = overrides
    return mapping


def _new_link(
    session: Session,
    access: WorkspaceAccess,
    post: PublishPost,
    target: str,
    utm: dict[str, str | None],
) -> Link:
    final = urls.apply_utm(target, utm)
    for attempt in range(GENERATE_ATTEMPTS):
        slug = slugs.generate(slugs.GENERATED_LENGTH + attempt // 3)
        link = Link(
            workspace_id=access.workspace_id,
            slug=slug,
            target_url=target,
            final_url=final,
            **utm,
            campaign=post.campaign,
            title=None,
            redirect_status=302,
            is_enabled=True,
            human_clicks=0,
            created_by=access.user_id,
        )
        try:
            # A savepoint: a slug taken meanwhile by another process fails this insert only.
            with session.begin_nested():
                session.add(link)
                session.flush()
        except IntegrityError:
            continue
        audit.record(
            session,
            "link.created",
            workspace_id=access.workspace_id,
            user_id=access.user_id,
            target=slug,
            details={"publish_post": post.id},
        )
        return link
    raise ValidationError("could not find a free short-link slug; try again", field="links")
