"""Point-in-time replay: a programme's state in one service, rebuilt from its events.

An auditor asks "what did the platform hold about programme P at instant T?".
Each service answers for itself from its own store: a *fresh* read model (the
same class the live queries use) is fed the stored events in log order, page
by page (:data:`PAGE_SIZE`), leaving out every event recorded after ``at``;
the model's :meth:`~revmentor.kernel.readmodel.ReadModel.programme_state` then
gives the programme's slice of it - no personal data, canonical JSON, SHA-256.

When an event was recorded is the instant of the save that stored it (the
envelope's ``saved_at``, the same for every event of one save, so a save is
kept or left out whole: a round's proposals never appear without the round);
events stored before saves were stamped fall back to their own timestamp. Log
order is commit order, and two writers may commit saves whose instants are not
in log order, so events are left out one by one; within one aggregate versions
are in time order, so once an event of an aggregate is after ``at``, every
later event of that aggregate is left out too (its state at ``at`` is the
prefix before it).

"Now" is a position, not a clock reading: without ``at`` the live model's
state and position are read together (no catch-up in between), then the log
is replayed up to that position, so the two digests compare the same history
and must be equal - a difference means the live model and the events disagree.

Memory: the log is read a page at a time and never kept; what is held is the
rebuilt model itself, the size of the live one. The cyclic garbage collector
is paused while a replay runs (:func:`collector_paused`): the model is built
of many acyclic objects that are all kept, and every full collection would
walk all of them again for nothing to free.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from revmentor.kernel.envelope import SAVED_AT
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.timestamps import parse

#: Stored events read per page.
PAGE_SIZE = 500


def canonical(state: Any) -> str:
    """The one JSON text of a state (sorted keys, no spaces): equal states, equal text."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Replay:
    """A replay in progress, then its result."""

    model: ReadModel
    #: The last log position read.
    position: int = 0
    #: Events applied to the model (recorded at or before ``at``).
    applied: int = 0
    #: Events read but recorded after ``at``.
    left_out: int = 0

    def state_of(self, programme_id: str) -> str:
        return canonical(self.model.programme_state(programme_id))


def recorded_at(event: Any, envelope: dict[str, Any]) -> datetime:
    """When the event was saved: its save's instant (one for every event of a
    save), else - events stored before saves were stamped - its own timestamp
    (taken when it was triggered, a moment before the save)."""
    saved = envelope.get(SAVED_AT)
    if saved:
        return parse(str(saved))
    moment = event.timestamp
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk build of kept objects.

    Reference counting still frees everything that is dropped; only cycles
    wait until the collector is back on (as it was before, not forced on).
    A rebuild of 100,000 enrolment events spent about an eighth of its time
    in collections that freed nothing (``bench/rebuild.py``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def replay(
    app: Any,
    at: datetime | None = None,
    upto: int | None = None,
    on_page: Callable[[Replay], None] | None = None,
) -> Replay:
    """A fresh read model of ``app`` fed its events recorded at or before ``at``
    (all when None), reading no further than position ``upto`` (the end when
    None); ``on_page`` is told after every page (progress)."""
    result = Replay(app.construct_read_model())
    with collector_paused():
        _feed(app, result, at, upto, on_page)
    return result


def _feed(
    app: Any,
    result: Replay,
    at: datetime | None,
    upto: int | None,
    on_page: Callable[[Replay], None] | None,
) -> None:
    late: set[UUID] = set()
    personal = app.read_model_reads_personal
    sealed = app.read_model_keeps_sealed
    while True:
        page = list(app.notifications(result.position, PAGE_SIZE))
        full = len(page) == PAGE_SIZE
        if upto is not None:
            page = [n for n in page if n.id <= upto]
            full = full and len(page) == PAGE_SIZE
        if personal:
            app.envelope_mapper.prefetch(page)
        for notification in page:
            event, envelope = app.envelope_mapper.decode(notification, personal, sealed)
            aggregate = notification.originator_id
            if at is not None and (aggregate in late or recorded_at(event, envelope) > at):
                late.add(aggregate)
                result.left_out += 1
            else:
                result.model.apply_notification(notification.id, event, envelope)
                result.applied += 1
            result.position = notification.id
        if on_page is not None:
            on_page(result)
        if not full:
            return


def live_state(app: Any, programme_id: str) -> tuple[int, str]:
    """The live read model's position and the programme's canonical state, read
    together (``app.query`` holds off catch-up while it reads)."""
    return app.query(lambda model: (model.position, canonical(model.programme_state(programme_id))))


def last_position(app: Any) -> int:
    """The log's last position now (0 when empty): the end of a replay's work."""
    return int(app.recorder.max_notification_id() or 0)
