"""Use cases of Publish: compose, adapt, validate, approve, schedule, queue, cancel, expire,
and the post's history. This module is the face the pages, the CLI, the API and the
dispatcher call; it holds no logic of its own and re-exports what its helpers hold
(``composing``: create and edit; ``scheduling``: when, schedule, publish now, cancel;
``review``: approve, request changes; ``transitions``: what every transition shares;
``records``: reading, history and status; ``approval``: settings and who approves;
``inputs``: cleaning; ``checks``: limits; ``expiry``; ``views``: JSON). Every query is
scoped by the caller's workspace; each public function that changes something is one
transaction (on any error nothing is written) and writes a :class:`PublishEvent` for every
transition (the outbox others read).

A variant's life, as this module moves it (the dispatcher takes it from ``scheduled``)::

    draft ──submit──▶ pending_approval ──approve──▶ scheduled ──(dispatcher)──▶ publishing …
      │                 │   ▲                         ▲
      │                 │   └──submit── changes_requested ◀──request changes──┘(pending)
      └──schedule (no approval needed)────────────────┘
    any of draft, pending_approval, changes_requested, scheduled ──cancel──▶ cancelled
    pending_approval, changes_requested past their time ──expire_unapproved──▶ expired

Approval (workspace publish settings): when "posts need approval" is on, every post is
submitted and goes out only once an editor, admin or owner (or a viewer, when allowed)
approves it, never its own author when self-approval is forbidden. Contributors always
submit, whatever the setting. A variant over its network's limit cannot be submitted or
scheduled (ValidationError with the count and the limit).
"""

from __future__ import annotations

from townsquare.publish.approval import can_approve, get_settings, settings_of, update_settings
from townsquare.publish.checks import VariantCheck, check_variant
from townsquare.publish.composing import UNSET, create_post, edit_post
from townsquare.publish.content import (
    effective_content_warning,
    effective_link_url,
    effective_parts,
)
from townsquare.publish.expiry import expire_unapproved
from townsquare.publish.inputs import clean_parts
from townsquare.publish.records import (
    AWAITING,
    EDITABLE,
    STATUS_PRECEDENCE,
    get_post,
    history,
    list_posts,
    post_status,
    record,
    refresh_post_status,
    variants_of,
)
from townsquare.publish.review import approve, request_changes
from townsquare.publish.scheduling import NOW, QUEUE, When, cancel, publish_now, schedule_post
from townsquare.publish.views import event_json, post_json, variant_json

__all__ = [
    "AWAITING",
    "EDITABLE",
    "NOW",
    "QUEUE",
    "STATUS_PRECEDENCE",
    "UNSET",
    "VariantCheck",
    "When",
    "approve",
    "can_approve",
    "cancel",
    "check_variant",
    "clean_parts",
    "create_post",
    "edit_post",
    "effective_content_warning",
    "effective_link_url",
    "effective_parts",
    "event_json",
    "expire_unapproved",
    "get_post",
    "get_settings",
    "history",
    "list_posts",
    "post_json",
    "post_status",
    "publish_now",
    "record",
    "refresh_post_status",
    "request_changes",
    "schedule_post",
    "settings_of",
    "update_settings",
    "variant_json",
    "variants_of",
]
