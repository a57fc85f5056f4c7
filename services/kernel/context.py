"""Who is acting and why: the request context carried into every stored event.

A gRPC call or a consumed upstream event opens a context; every domain event
recorded inside it is stamped with the actor, correlation id and causation id
(DESIGN 3.5) by the envelope mapper, so domain code never passes them around.
A gRPC call also carries its authenticated :class:`Principal`, so handlers make
their object-level checks without it being threaded through every signature.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revmentor.kernel.auth import Principal


@dataclass(frozen=True)
class RequestContext:
    """The facts about *why* a change happens, recorded with every event."""

    actor: str
    correlation_id: str
    causation_id: str
    traceparent: str = ""
    #: The authenticated caller of a gRPC call; None for system work and consumed events.
    principal: Principal | None = None

    def as_metadata(self) -> dict[str, str]:
        """The envelope fields written next to a stored event."""
        meta = {
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }
        if self.traceparent:
            meta["traceparent"] = self.traceparent
        return meta


SYSTEM = RequestContext(actor="system", correlation_id="", causation_id="")

_current: ContextVar[RequestContext | None] = ContextVar("revmentor_request", default=None)


def current() -> RequestContext:
    """The active context, or a fresh system context when none is open."""
    ctx = _current.get()
    if ctx is None:
        new_id = str(uuid.uuid4())
        return replace(SYSTEM, correlation_id=new_id, causation_id=new_id)
    return ctx


def new_request(
    actor: str,
    correlation_id: str = "",
    causation_id: str = "",
    traceparent: str = "",
    principal: Principal | None = None,
) -> RequestContext:
    """A context for a new command: a missing correlation id starts a new chain."""
    request_id = str(uuid.uuid4())
    return RequestContext(
        actor=actor,
        correlation_id=correlation_id or request_id,
        causation_id=causation_id or request_id,
        traceparent=traceparent,
        principal=principal,
    )


@contextlib.contextmanager
def acting_as(ctx: RequestContext) -> Iterator[RequestContext]:
    """Run a block with ``ctx`` as the current request context."""
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
