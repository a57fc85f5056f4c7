"""The envelope: who and why, stamped on every stored event from the request context.

Runs a tiny service on each store (SQLite and PostgreSQL) and reads its log
back through :meth:`EnvelopeMapper.decode`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Mapper
from support import tick

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.context import SYSTEM, RequestContext, acting_as, current, new_request
from revmentor.kernel.envelope import ENVELOPE_KEY, SAVED_AT, saved_at
from revmentor.kernel.timestamps import parse


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str) -> None:
        self.text = text

    @event("Edited")
    def edit(self, text: str) -> None:
        self.text = text


class Notebook(ServiceApplication):
    name = "notebook"


@pytest.fixture
def app(store: dict[str, str]) -> Iterator[Notebook]:
    notebook = Notebook(env=store)
    yield notebook
    notebook.close()


def envelopes(app: Notebook) -> list[dict[str, Any]]:
    """The stored envelopes without their save instants (tested on their own below)."""
    found = [app.envelope_mapper.decode(n)[1] for n in app.notifications(0, 1000)]
    return [{k: v for k, v in e.items() if k != SAVED_AT} for e in found]


def saved_instants(app: Notebook) -> list[str]:
    return [app.envelope_mapper.decode(n)[1][SAVED_AT] for n in app.notifications(0, 1000)]


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def test_events_carry_the_current_context(app: Notebook) -> None:
    ctx = RequestContext(actor="alice@corp", correlation_id="corr-1", causation_id="cause-1")
    with acting_as(ctx):
        note = Note("hello")
        note.edit("hello again")
        app.save(note)
    assert envelopes(app) == [ctx.as_metadata()] * 2
    assert ctx.as_metadata() == {
        "actor": "alice@corp",
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
    }


def test_each_save_takes_the_context_open_at_that_moment(app: Notebook) -> None:
    note = Note("draft")
    with acting_as(new_request("alice", correlation_id="c-1")):
        app.save(note)
    note.edit("final")
    with acting_as(new_request("bob", correlation_id="c-2", causation_id="event-9")):
        app.save(note)
    first, second = envelopes(app)
    assert (first["actor"], first["correlation_id"]) == ("alice", "c-1")
    assert is_uuid(first["causation_id"])
    assert second == {"actor": "bob", "correlation_id": "c-2", "causation_id": "event-9"}


def test_every_event_of_one_save_carries_the_same_save_instant(app: Notebook) -> None:
    """So a point-in-time replay keeps or leaves out a save whole."""
    before = tick()
    first = Note("one")
    first.edit("one, edited")
    app.save(first, Note("two"))
    between = tick()
    app.save(Note("three"))
    one, two, three, four = (parse(s) for s in saved_instants(app))
    assert one == two == three, "one save, one instant"
    assert before < one < between < four
    assert saved_at.get() is None, "the instant is only set during a save"


def test_without_a_context_events_are_stamped_as_system(app: Notebook) -> None:
    app.save(Note("a"))
    app.save(Note("b"))
    first, second = envelopes(app)
    for envelope in (first, second):
        assert envelope["actor"] == SYSTEM.actor == "system"
        assert envelope["correlation_id"] == envelope["causation_id"]
        assert is_uuid(envelope["correlation_id"])
    assert first["correlation_id"] != second["correlation_id"]


def test_traceparent_is_kept_when_present(app: Notebook) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with acting_as(new_request("carol", traceparent=traceparent)):
        app.save(Note("traced"))
    (envelope,) = envelopes(app)
    assert envelope["traceparent"] == traceparent
    assert "traceparent" not in new_request("dave").as_metadata()


def test_new_request_starts_a_chain_when_no_correlation_is_given() -> None:
    ctx = new_request("erin")
    assert ctx.correlation_id == ctx.causation_id and is_uuid(ctx.correlation_id)
    assert new_request("erin").correlation_id != ctx.correlation_id
    joined = new_request("erin", correlation_id="corr-7")
    assert joined.correlation_id == "corr-7" and joined.causation_id != "corr-7"


def test_acting_as_nests_and_restores() -> None:
    outer, inner = new_request("outer"), new_request("inner")
    assert current().actor == "system"
    with acting_as(outer):
        with acting_as(inner):
            assert current() is inner
        assert current() is outer
    assert current().actor == "system"


def test_acting_as_restores_after_an_error() -> None:
    with pytest.raises(RuntimeError), acting_as(new_request("mallory")):
        raise RuntimeError("boom")
    assert current().actor == "system"


async def test_concurrent_tasks_keep_their_own_context(app: Notebook) -> None:
    async def write(actor: str) -> None:
        with acting_as(new_request(actor, correlation_id=f"corr-{actor}")):
            await asyncio.sleep(0.01)  # let the other task switch in
            await asyncio.to_thread(app.save, Note(actor))

    await asyncio.gather(write("task-a"), write("task-b"))
    stamped = {(e["actor"], e["correlation_id"]) for e in envelopes(app)}
    assert stamped == {("task-a", "corr-task-a"), ("task-b", "corr-task-b")}


def test_events_stored_without_an_envelope_still_decode(app: Notebook) -> None:
    legacy = Note("written before envelopes existed")
    legacy.edit("and edited")
    plain = Mapper(transcoder=app.construct_transcoder())
    app.recorder.insert_events([plain.to_stored_event(e) for e in legacy.collect_events()])

    decoded = [app.envelope_mapper.decode(n) for n in app.notifications(0, 1000)]
    assert [envelope for _, envelope in decoded] == [{}, {}]
    assert [type(e).__name__ for e, _ in decoded] == ["Written", "Edited"]
    loaded = app.repository.get(legacy.id)
    assert (loaded.text, loaded.version) == ("and edited", 2)


def test_domain_events_never_expose_the_envelope(app: Notebook) -> None:
    with acting_as(new_request("frank", correlation_id="corr-f")):
        note = Note("secret-free")
        pending = list(note.collect_events())
        app.save(*pending)
    for e in pending:  # stamping did not touch the event being saved
        assert ENVELOPE_KEY not in vars(e) and not hasattr(e, ENVELOPE_KEY)

    for notification in app.notifications(0, 1000):
        decoded, envelope = app.envelope_mapper.decode(notification)
        assert envelope["actor"] == "frank"
        assert ENVELOPE_KEY not in vars(decoded) and not hasattr(decoded, ENVELOPE_KEY)
        again = app.envelope_mapper.to_domain_event(notification)
        assert vars(again) == vars(decoded)
        assert "frank" not in repr(vars(again))

    loaded = app.repository.get(note.id)
    assert not hasattr(loaded, ENVELOPE_KEY)
    assert "frank" not in repr(vars(loaded))
    assert loaded.text == "secret-free"
