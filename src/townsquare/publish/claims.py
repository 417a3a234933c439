"""Taking variants to publish: atomic claims with a lease, and the sweep of lapsed leases.

A dispatcher (``serve``'s embedded worker, ``townsquare worker``, ``publish due``) takes a
variant by a conditional update that only one of them can win, whatever the number of
processes and machines:

- SQLite: the candidates are read, then ``UPDATE … WHERE id IN (…) AND status = 'scheduled'
  AND … RETURNING id``: SQLite runs one writer at a time and the condition is checked again
  under its lock, so a variant another dispatcher took in between is not returned;
- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` (rows another dispatcher is claiming are
  passed over, not waited for), then the same conditional ``UPDATE … RETURNING``.

Three kinds of work are claimed, oldest first: variants whose lease lapsed (the dispatcher
died or hung: the *sweep*), uncertain variants whose next check has come, and scheduled
variants that are due (``scheduled_at`` and ``next_attempt_at`` passed). Each moves to
``publishing`` with ``lease_owner``/``lease_until``; the holder renews the lease before each
write (:func:`hold`), a heartbeat renews the leases of everything under way
(:func:`renew`), and every write a dispatcher makes after its claim is conditional on still
holding it, so that one whose lease was taken back can never overwrite the new holder's
work. Each claim writes its own lease token (:func:`lease_token`).
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import UTCDateTime
from townsquare.publish.models import PublishEvent, PublishVariant, VariantStatus

V = PublishVariant
SWEEP, RECHECK, DUE = "sweep", "recheck", "due"
ROUNDS = 3  # reads of candidates when another dispatcher took all of them first


def new_owner() -> str:
    """A dispatcher's name in leases: host, process and a random part (a restarted process
    with the same pid is another owner)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_token(owner: str) -> str:
    """What one claim writes in ``lease_owner``: the dispatcher and a part unique to this
    claim, so that a variant the same dispatcher took back (its lease lapsed while a slow
    call went on) is no longer held by the run that lost it."""
    return f"{owner}#{secrets.token_hex(3)}"


def renew(session: Session, leases: list[str], now: datetime, lease_seconds: float) -> int:
    """Extend every lease in ``leases`` still held (the dispatcher's heartbeat); commits."""
    if not leases:
        return 0
    result = session.execute(
        update(V)
        .where(V.lease_owner.in_(leases), V.status == VariantStatus.PUBLISHING.value)
        .values(lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def let_go(session: Session, held: list[tuple[int, str]], now: datetime) -> int:
    """End the leases of claimed variants that were never started, ``(id, lease)`` each
    (a dispatcher stopping with a backlog): the sweep takes them back at its next pass,
    as it would after a crash, only sooner. Commits."""
    count = 0
    for variant_id, lease in held:
        result = session.execute(
            update(V)
            .where(
                V.id == variant_id,
                V.lease_owner == lease,
                V.status == VariantStatus.PUBLISHING.value,
            )
            .values(lease_until=now)
            .execution_options(synchronize_session=False)
        )
        count += int(result.rowcount)  # type: ignore[attr-defined]
    session.commit()
    return count


def _condition(kind: str, now: datetime, due_before: datetime) -> ColumnElement[bool]:
    if kind == SWEEP:
        return and_(
            V.status == VariantStatus.PUBLISHING.value,
            or_(V.lease_until.is_(None), V.lease_until < now),
        )
    waited = or_(V.next_attempt_at.is_(None), V.next_attempt_at <= due_before)
    if kind == RECHECK:
        return and_(V.status == VariantStatus.UNCERTAIN.value, waited)
    return and_(
        V.status == VariantStatus.SCHEDULED.value,
        V.scheduled_at.is_not(None),
        V.scheduled_at <= due_before,
        waited,
    )


KIND_OF_STATUS = {
    VariantStatus.PUBLISHING.value: SWEEP,
    VariantStatus.UNCERTAIN.value: RECHECK,
    VariantStatus.SCHEDULED.value: DUE,
}
KINDS = (SWEEP, RECHECK, DUE)  # the order they are taken in


def _candidates(
    session: Session, now: datetime, due_before: datetime, limit: int
) -> list[tuple[int, str]]:
    """Up to ``limit`` variants of the three kinds, lapsed leases first, then uncertain ones,
    then due ones, each oldest first: ``(id, kind)``. One query for the three: a pass
    with nothing to take (most of them) costs one round trip, not six."""
    conditions = [_condition(kind, now, due_before) for kind in KINDS]
    rank = case(
        *((V.status == status, KINDS.index(kind)) for status, kind in KIND_OF_STATUS.items())
    )
    query = (
        select(V.id, V.status)
        .where(or_(*conditions))
        .order_by(rank, V.scheduled_at, V.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [(row[0], KIND_OF_STATUS[row[1]]) for row in session.execute(query)]


def _take(
    session: Session,
    kind: str,
    ids: list[int],
    condition: ColumnElement[bool],
    owner: str,
    now: datetime,
    lease_seconds: float,
    retry_minutes: float,
) -> list[tuple[int, int, int]]:
    values: dict[str, Any] = {
        "status": VariantStatus.PUBLISHING.value,
        "lease_owner": owner,
        "lease_until": now + timedelta(seconds=lease_seconds),
    }
    if kind == DUE:
        values["attempts"] = V.attempts + 1
        deadline = now + timedelta(minutes=retry_minutes)
        values["retry_deadline"] = func.coalesce(V.retry_deadline, literal(deadline, UTCDateTime()))
    claimed = session.execute(
        update(V)
        .where(V.id.in_(ids), condition)  # checked again: another may have taken it
        .values(**values)
        .returning(V.id, V.post_id, V.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return [(row[0], row[1], row[2]) for row in claimed]


def claim(
    session: Session,
    *,
    owner: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    retry_minutes: float,
    due_before: datetime | None = None,
) -> list[int]:
    """Take up to ``limit`` variants for ``owner`` (lapsed leases, then uncertain variants
    to check, then due ones), write their ``publishing`` events and commit; their ids.

    ``due_before``: only what was due by then (``publish due`` stops at its start time);
    leases are judged against ``now``.
    """
    due_before = due_before or now
    won: dict[str, list[tuple[int, int, int]]] = {kind: [] for kind in KINDS}
    count = 0
    for _round in range(ROUNDS):
        # On SQLite the candidates are read before the write lock: another dispatcher may
        # take some of them first, and then there may be others to read again.
        candidates = _candidates(session, now, due_before, limit - count)
        if not candidates:
            break
        lost = False
        for kind in KINDS:
            ids = [variant_id for variant_id, of in candidates if of == kind]
            if not ids:
                continue
            rows = _take(
                session,
                kind,
                ids,
                _condition(kind, now, due_before),
                owner,
                now,
                lease_seconds,
                retry_minutes,
            )
            won[kind].extend(rows)
            count += len(rows)
            lost = lost or len(rows) < len(ids)
        if not lost or count >= limit:
            break
    if not count:
        session.rollback()  # nothing written: no commit to make
        return []
    taken: list[int] = []
    events: list[PublishEvent] = []
    for kind in KINDS:
        for variant_id, post_id, attempts in won[kind]:
            taken.append(variant_id)
            if kind == RECHECK:
                continue  # a check that changes nothing writes nothing
            detail: dict[str, Any] = {"by": owner, "attempt": attempts}
            if kind == SWEEP:
                detail["lease_expired"] = True
            events.append(
                PublishEvent(
                    post_id=post_id,
                    variant_id=variant_id,
                    action=VariantStatus.PUBLISHING.value,
                    detail=detail,
                    at=now,
                )
            )
    session.add_all(events)
    session.commit()
    return taken


def hold(
    session: Session,
    variant_id: int,
    owner: str,
    now: datetime,
    lease_seconds: float,
    *,
    also: dict[str, Any] | None = None,
) -> bool:
    """Renew ``owner``'s lease on a variant it is publishing (and write the columns of
    ``also`` with it); False if it lost it (the sweep gave it to another dispatcher).
    Opens the write that follows: on PostgreSQL the row stays locked until the commit, on
    SQLite the database's write lock is taken."""
    # On the session's connection, as a Core statement: the same SQL without the ORM's
    # bulk-update machinery, a tenth of a dispatch's CPU when it ran twice per variant.
    table = cast(Table, V.__table__)
    values: dict[str, Any] = {"lease_until": now + timedelta(seconds=lease_seconds)}
    values.update(also or {})
    result = session.connection().execute(
        update(table)
        .where(
            table.c.id == variant_id,
            table.c.lease_owner == owner,
            table.c.status == VariantStatus.PUBLISHING.value,
        )
        .values(**values)
    )
    return bool(result.rowcount == 1)


def due_count(session: Session, now: datetime) -> int:
    """Variants that a dispatcher could take now (lapsed, to check, or due)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(V)
            .where(or_(*(_condition(kind, now, now) for kind in KINDS)))
        )
        or 0
    )
