"""The failures every network's publishing maps the same way (Mastodon, Bluesky).

Each network module keeps what is its own (status codes, its library's exceptions); these
are the decisions that do not depend on the network:

- townsquare's own refusals, found anywhere in the chain of causes, before anything was
  sent: the rate policy's :class:`~townsquare.errors.RateLimited` (the budget the network
  announced is spent) is ``RETRY`` after the policy's ``retry_after``; any other
  :class:`~townsquare.errors.TownsquareError` there (the SSRF rule) is ``REJECTED``;
- the network's 429: ``RETRY`` after what it said;
- credentials refused (401): ``REJECTED`` with ``reconnect`` set, so that the dispatcher
  marks the channel as needing reconnection and tells its owners and admins.
"""

from __future__ import annotations

from townsquare.errors import RateLimited, TownsquareError
from townsquare.networks.base import PublishError, PublishOutcome

DEFAULT_WAIT_SECONDS = 60.0  # when a rate limit names no time


def chain(error: BaseException) -> list[BaseException]:
    """``error`` and its causes (``__cause__``, else ``__context__``), outermost first."""
    found: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in found:
        found.append(cause)
        cause = cause.__cause__ or cause.__context__
    return found


def own_refusal(error: BaseException, server: str) -> PublishError | None:
    """The outcome when townsquare itself refused to send (see the module doc), else None."""
    for cause in chain(error):
        if isinstance(cause, RateLimited):
            return budget_spent(server, float(cause.retry_after or DEFAULT_WAIT_SECONDS))
        if isinstance(cause, TownsquareError):
            return PublishError(
                PublishOutcome.REJECTED,
                "townsquare refused to contact %(server)s: %(reason)s",
                params={"server": server, "reason": str(cause)},
            )
    return None


def budget_spent(server: str, wait: float) -> PublishError:
    """The rate budget ``server`` announced is spent (nothing was sent): ``RETRY``."""
    return PublishError(
        PublishOutcome.RETRY,
        "%(server)s rate limit reached: townsquare tries again in %(seconds)s s",
        params={"server": server, "seconds": int(wait)},
        retry_after=wait,
    )


def too_many_requests(server: str, wait: float) -> PublishError:
    """``server`` answered 429: ``RETRY`` after ``wait`` seconds."""
    return PublishError(
        PublishOutcome.RETRY,
        "%(server)s rate limit reached (429): townsquare tries again in %(seconds)s s",
        params={"server": server, "seconds": int(wait)},
        retry_after=wait,
    )


def credentials_refused(server: str, reason: str) -> PublishError:
    """``server`` refused the channel's token or session: ``REJECTED``, reconnect."""
    return PublishError(
        PublishOutcome.REJECTED,
        "%(server)s refused the channel's credentials (%(reason)s): reconnect the channel",
        params={"server": server, "reason": reason},
        reconnect=True,
    )
