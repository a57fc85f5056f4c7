"""Point-in-time replay (``revmentor.kernel.replay`` and ``ReplayProgramme``).

What must hold: replaying a programme at instants of a scripted history gives
exactly the states the live read model held at those instants (SQLite and
PostgreSQL); an aggregate is cut at its first event recorded after the
instant, even when a later event of it carries an earlier timestamp; without
an instant the replay stops at the live model's position and its digest equals
the live one; over gRPC the replay streams progress before the state, names
every bad field, and only admins and auditors get in.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from eventsourcing.domain import Aggregate, event
from support import DevIssuer, authed_channel, grpc_service, invalid, refused, tick

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.kernel import auditlog, replay
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.auditlog import SERVICE_NAME, AuditLogServicer
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.timestamps import parse

HOLDER = "Quentin Holdermarker"  # personal: kept by the model, never shown in a state


class Account(Aggregate):
    class Opened(Aggregate.Created):
        personal_fields = ("holder",)
        holder: str
        team: str

    @event(Opened)
    def __init__(self, holder: str, team: str):
        self.holder = holder
        self.team = team

    @event("Credited")
    def credit(self, amount: int) -> None:
        """Recorded as an event; the read model keeps the balance."""


class Teams(ReadModel):
    """Accounts per team (the "programme"), with balances and holders."""

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        name = type(event).__qualname__
        if name == "Account.Opened":
            self.accounts[str(event.originator_id)] = {
                "team": event.team,
                "holder": event.holder,
                "balance": 0,
            }
        elif name == "Account.Credited":
            self.accounts[str(event.originator_id)]["balance"] += event.amount

    def programme_state(self, programme_id: str) -> Any:
        return {
            a: {"balance": v["balance"]}
            for a, v in self.accounts.items()
            if v["team"] == programme_id
        }


class Ledger(ServiceApplication):
    name = "ledger"

    def construct_read_model(self) -> ReadModel:
        return Teams()


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def app(store: dict[str, str]) -> Iterator[Ledger]:
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    ledger = Ledger(env={**store, "REVMENTOR_KEK": kek})
    yield ledger
    ledger.close()


TEAM, OTHER = str(uuid.uuid4()), str(uuid.uuid4())


def recorded(app: Ledger, team: str = TEAM) -> tuple[dict[str, Any], datetime]:
    """The live state now, and an instant after everything recorded so far."""
    _, text = replay.live_state(app, team)
    return json.loads(text), tick()


def replayed(app: Ledger, at: datetime | None, team: str = TEAM) -> Any:
    return json.loads(replay.replay(app, at).state_of(team))


# -- the replay itself ------------------------------------------------------------------------
def test_replay_at_each_instant_is_the_state_recorded_then(app: Ledger) -> None:
    before = tick()
    first = Account(holder=HOLDER, team=TEAM)
    app.save(first)
    states = [recorded(app)]
    first.credit(5)
    second = Account(holder=f"{HOLDER} 2", team=TEAM)
    app.save(first, second)
    states.append(recorded(app))
    elsewhere = Account(holder="Other", team=OTHER)
    elsewhere.credit(100)
    second.credit(7)
    app.save(elsewhere, second)
    states.append(recorded(app))
    first.credit(1)
    app.save(first)

    assert replayed(app, before) == {}
    for state, at in states:
        assert replayed(app, at) == state
    assert [len(s) for s, _ in states] == [1, 2, 2], "the script changed state each time"
    assert (
        replayed(app, None)
        == recorded(app)[0]
        == {
            str(first.id): {"balance": 6},
            str(second.id): {"balance": 7},
        }
    )
    assert HOLDER not in replay.replay(app, None).state_of(TEAM)


def test_replay_counts_what_it_left_out_and_reads_in_pages(
    app: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "PAGE_SIZE", 3)
    account = Account(holder=HOLDER, team=TEAM)
    for amount in range(6):
        account.credit(amount)
    app.save(account)
    at = tick()
    account.credit(10)
    account.credit(20)
    app.save(account)
    pages: list[int] = []
    result = replay.replay(app, at, on_page=lambda r: pages.append(r.position))
    assert (result.applied, result.left_out) == (7, 2)
    assert len(pages) == 4 and pages == sorted(pages)  # 3 full pages, then the end
    assert json.loads(result.state_of(TEAM)) == {str(account.id): {"balance": 15}}


def test_a_save_is_kept_or_left_out_whole(app: Ledger) -> None:
    """Events are created before their save; the save's instant decides, so a
    replay never shows half of one save (a round's proposals without the round)."""
    first = Account(holder=HOLDER, team=TEAM)
    first.credit(4)
    at = tick()  # after the events were created, before they were saved
    second = Account(holder=HOLDER, team=TEAM)
    app.save(first, second)
    assert replayed(app, at) == {}
    assert len(replayed(app, tick())) == 2


def test_replay_stops_at_the_position_asked(app: Ledger) -> None:
    account = Account(holder=HOLDER, team=TEAM)
    app.save(account)
    position, text = replay.live_state(app, TEAM)
    account.credit(3)
    app.save(account)
    result = replay.replay(app, None, upto=position)
    assert result.position == position and result.state_of(TEAM) == text
    assert replay.last_position(app) > position


def test_an_aggregate_is_cut_at_its_first_late_event() -> None:
    """Log order is commit order: a later event may carry an earlier time (two
    writers). Once an aggregate has an event after the instant, the rest of it
    is after too - its state then is the prefix before that event."""
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    a, b = uuid.uuid4(), uuid.uuid4()
    rows = [  # (position, aggregate, minutes after start)
        (1, a, 0),
        (2, a, 20),  # late
        (3, b, 5),
        (4, a, 5),  # earlier time, but after a late event of the same aggregate
    ]
    notifications = [SimpleNamespace(id=p, originator_id=x, minute=m) for p, x, m in rows]

    class Seen(ReadModel):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[int] = []

        def apply(self, event: Any, envelope: dict[str, Any]) -> None:
            self.seen.append(event.position)

    def decode(n: Any, personal: bool, keep_sealed: bool) -> tuple[Any, dict[str, Any]]:
        moment = start + timedelta(minutes=n.minute)
        return SimpleNamespace(timestamp=moment, position=n.id), {}

    fake = SimpleNamespace(
        construct_read_model=Seen,
        read_model_reads_personal=False,
        read_model_keeps_sealed=False,
        envelope_mapper=SimpleNamespace(decode=decode),
        notifications=lambda after, limit: [n for n in notifications if n.id > after][:limit],
    )
    result = replay.replay(fake, start + timedelta(minutes=10))
    assert result.model.seen == [1, 3]  # type: ignore[attr-defined]
    assert (result.applied, result.left_out, result.position) == (2, 2, 4)


# -- over gRPC --------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def replay_stub(
    app: Ledger, issuer: DevIssuer, role: str = "auditor"
) -> AsyncIterator[pb_grpc.AuditLogServiceStub]:
    servicer = AuditLogServicer(app, "nats://127.0.0.1:1", app.name)
    async with grpc_service(app.name, auditlog.register, servicer, [SERVICE_NAME], issuer) as port:
        claims = {"service": "matching"} if role == "service" else {}
        token = issuer.token(role, sub=f"{role}-1", **claims)
        async with authed_channel(f"127.0.0.1:{port}", token) as channel:
            yield pb_grpc.AuditLogServiceStub(channel)


async def updates(stub: pb_grpc.AuditLogServiceStub, request: Any) -> list[Any]:
    return [update async for update in stub.ReplayProgramme(request)]


async def test_replay_streams_progress_then_the_state_equal_to_live(
    app: Ledger, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replay, "PAGE_SIZE", 4)
    accounts = [Account(holder=f"{HOLDER} {i}", team=TEAM) for i in range(5)]
    for account in accounts:
        account.credit(2)
    app.save(*accounts)
    at = tick()
    accounts[0].credit(40)
    app.save(accounts[0])
    async with replay_stub(app, issuer) as stub:
        now = await updates(stub, pb.ReplayProgrammeRequest(programme_id=TEAM))
        then = await updates(stub, pb.ReplayProgrammeRequest(programme_id=TEAM, at=at.isoformat()))

    *progress, last = now
    assert progress and all(u.HasField("progress") for u in progress)
    positions = [u.progress.position for u in progress]
    assert positions == sorted(positions) and progress[-1].progress.last_position == 11
    state = last.state
    assert state.service == "ledger" and state.programme_id == TEAM
    assert state.digest == state.live_digest == replay.digest(state.state_json)
    assert json.loads(state.state_json)[str(accounts[0].id)] == {"balance": 42}
    assert (state.position, state.applied, state.left_out) == (11, 11, 0)
    assert HOLDER not in state.state_json

    old = then[-1].state
    assert parse(old.at) == at and not old.live_digest
    assert json.loads(old.state_json)[str(accounts[0].id)] == {"balance": 2}
    assert (old.applied, old.left_out) == (10, 1) and old.digest != state.digest


async def test_replay_names_every_bad_field(app: Ledger, issuer: DevIssuer) -> None:
    async with replay_stub(app, issuer) as stub:
        request = pb.ReplayProgrammeRequest(programme_id="nope", at="yesterday")
        await invalid(app, lambda r: updates(stub, r), request, ["programme_id", "at"])


@pytest.mark.parametrize("role", ["programme_manager", "mentor", "service"])
async def test_only_admins_and_auditors_replay(app: Ledger, issuer: DevIssuer, role: str) -> None:
    async with replay_stub(app, issuer, role) as stub:
        request = pb.ReplayProgrammeRequest(programme_id=TEAM)
        await refused(app, grpc.StatusCode.PERMISSION_DENIED, lambda r: updates(stub, r), request)


async def test_a_programme_id_in_another_form_is_the_same_programme(
    app: Ledger, issuer: DevIssuer
) -> None:
    app.save(Account(holder=HOLDER, team=TEAM))
    async with replay_stub(app, issuer) as stub:
        upper = await updates(stub, pb.ReplayProgrammeRequest(programme_id=TEAM.upper()))
    assert len(json.loads(upper[-1].state.state_json)) == 1
    assert upper[-1].state.programme_id == TEAM


def slow_log(app: Ledger, monkeypatch: pytest.MonkeyPatch, pages: list[int]) -> None:
    """Every page read takes a while, and is counted."""
    read = app.notifications

    def notifications(after: int, limit: int) -> Any:
        pages.append(after)
        time.sleep(0.02)
        return read(after, limit)

    monkeypatch.setattr(app, "notifications", notifications)
    monkeypatch.setattr(replay, "PAGE_SIZE", 2)


async def test_an_abandoned_replay_stops_reading(
    app: Ledger, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = Account(holder=HOLDER, team=TEAM)
    for amount in range(39):
        account.credit(amount)
    app.save(account)  # 40 events: 21 pages of 2
    pages: list[int] = []
    slow_log(app, monkeypatch, pages)
    async with replay_stub(app, issuer) as stub:
        call = stub.ReplayProgramme(pb.ReplayProgrammeRequest(programme_id=TEAM))
        first = await call.read()
        assert first.HasField("progress")
        call.cancel()
        await asyncio.sleep(0.6)  # long enough for the whole log, had it gone on
        read_when_abandoned = len(pages)
        await asyncio.sleep(0.3)
    assert len(pages) == read_when_abandoned < 10


async def test_replays_beyond_the_limit_are_refused_while_others_run(
    app: Ledger, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auditlog, "MAX_REPLAYS", 1)
    account = Account(holder=HOLDER, team=TEAM)
    for amount in range(19):
        account.credit(amount)
    app.save(account)
    slow_log(app, monkeypatch, [])
    async with replay_stub(app, issuer) as stub:
        running = stub.ReplayProgramme(pb.ReplayProgrammeRequest(programme_id=TEAM))
        assert (await running.read()).HasField("progress")
        with pytest.raises(grpc.aio.AioRpcError) as refused_call:
            await updates(stub, pb.ReplayProgrammeRequest(programme_id=TEAM))
        assert refused_call.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        rest = [update async for update in running]
        assert rest[-1].HasField("state"), "the running replay is not disturbed"
        after = await updates(stub, pb.ReplayProgrammeRequest(programme_id=TEAM))
        assert after[-1].state.digest == rest[-1].state.digest


def test_the_collector_is_paused_during_a_replay_and_restored_as_it_was() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), replay.collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a replay that fails")
    assert gc.isenabled(), "back on after a failure"
    gc.disable()
    try:
        with replay.collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "left off when it was off before"
    finally:
        gc.enable()
