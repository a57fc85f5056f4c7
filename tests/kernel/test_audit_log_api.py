"""The auditors' event log (``revmentor.audit.v1.AuditLogService``) over a real gRPC server.

What must hold: ReadEvents pages through the log in position order with each
event's envelope and chain hash, personal fields withheld (the clear value
never leaves the service), honours ``after_position`` and ``since`` (a page
may be short when the scan budget runs out or its bytes would pass the limit,
and the token carries on), and names every bad field; GetAggregateHistory
gives one aggregate's events in version order, NOT_FOUND for an unknown one;
VerifyChain reads the signed checkpoints from NATS, passes a clean store and
reports the first tampered position, and answers UNAVAILABLE, writing nothing,
without NATS; only admins and auditors get in.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from eventsourcing.domain import Aggregate, event
from support import DevIssuer, authed_channel, grpc_service, invalid, refused, tick

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.kernel import auditlog, context
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.audit import Chainer, ChainTable, CheckpointPublisher, genesis, link
from revmentor.kernel.auditlog import AUDIT_READERS, SERVICE_NAME, AuditLogServicer
from revmentor.kernel.envelope import WITHHELD
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.streams import declare_streams
from revmentor.kernel.timestamps import parse

HOLDER = "Quentin Holdermarker"  # personal: must never appear in an answer


class Account(Aggregate):
    class Opened(Aggregate.Created):
        personal_fields = ("holder",)
        holder: str
        team: str

    @event(Opened)
    def __init__(self, holder: str, team: str):
        self.holder = holder
        self.team = team
        self.balance = 0

    @event("Credited")
    def credit(self, amount: int) -> None:
        self.balance += amount


TOPIC = f"{__name__}:Account"


class Ledger(ServiceApplication):
    name = "ledger"


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development audit keys go under this test's own var dir."""
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "var"))
    for name in ("REVMENTOR_AUDIT_SIGNING_KEY_FILE", "REVMENTOR_AUDIT_TRUSTED_KEYS"):
        monkeypatch.delenv(name, raising=False)


def kek() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def app(store: dict[str, str]) -> Iterator[Ledger]:
    ledger = Ledger(env={**store, "REVMENTOR_KEK": kek()})
    yield ledger
    ledger.close()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Ledger]:
    path = tmp_path / "ledger.sqlite"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    ledger = Ledger(env={**env, "REVMENTOR_KEK": kek()})
    yield ledger
    ledger.close()


def write(app: ServiceApplication, accounts: int, credits: int = 2) -> list[Account]:
    """accounts * (1 + credits) events, recorded as actor ``u-auditee``."""
    written = []
    request = context.new_request("u-auditee", correlation_id="corr-1", causation_id="cause-1")
    with context.acting_as(request):
        for i in range(accounts):
            account = Account(holder=f"{HOLDER} {i}", team=f"team-{i}")
            for amount in range(credits):
                account.credit(amount + 1)
            app.save(account)
            written.append(account)
    return written


def unreachable_nats() -> str:
    return f"nats://127.0.0.1:{free_port()}"


@contextlib.asynccontextmanager
async def serving(app: ServiceApplication, issuer: DevIssuer, nats_url: str) -> AsyncIterator[int]:
    """The audit log of ``app`` on a real gRPC server with the kernel's interceptor."""
    servicer = AuditLogServicer(app, nats_url, app.name)
    async with grpc_service(app.name, auditlog.register, servicer, [SERVICE_NAME], issuer) as port:
        yield port


@contextlib.asynccontextmanager
async def audit_stub(
    port: int, issuer: DevIssuer, role: str = "auditor", **claims: Any
) -> AsyncIterator[pb_grpc.AuditLogServiceStub]:
    token = issuer.token(role, sub=f"{role}-1", **claims)
    async with authed_channel(f"127.0.0.1:{port}", token) as channel:
        yield pb_grpc.AuditLogServiceStub(channel)


async def read_all(stub: pb_grpc.AuditLogServiceStub, **request: Any) -> tuple[list[Any], int]:
    """Every event ReadEvents gives, following the tokens; and how many calls it took."""
    events: list[Any] = []
    token, calls = "", 0
    while True:
        reply = await stub.ReadEvents(pb.ReadEventsRequest(page_token=token, **request))
        events += reply.events
        calls += 1
        token = reply.next_page_token
        if not token:
            return events, calls
        assert calls < 1000, "the tokens never end"


def state(logged: Any) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(logged.state_json)
    return found


# -- the access table ---------------------------------------------------------------------------
def test_every_rpc_is_for_admins_and_auditors_only() -> None:
    methods = pb.DESCRIPTOR.services_by_name["AuditLogService"].methods_by_name
    assert set(AuditLogServicer.ACCESS_POLICY) == set(methods)
    assert all(roles == {"admin", "auditor"} for roles in AuditLogServicer.ACCESS_POLICY.values())
    assert {"admin", "auditor"} == AUDIT_READERS


# -- ReadEvents ---------------------------------------------------------------------------------
async def test_read_events_pages_in_order_with_envelopes_and_chain_hashes(
    app: Ledger, issuer: DevIssuer
) -> None:
    accounts = write(app, accounts=5)
    chained = Chainer(app).chain()
    write(app, accounts=1)  # 3 rows written after the chaining: no hash yet
    rows = list(app.notifications(0, 1000))
    assert chained == 15 and len(rows) == 18

    async with serving(app, issuer, unreachable_nats()) as port, audit_stub(port, issuer) as stub:
        events, calls = await read_all(stub, page_size=4)
        assert calls == 5  # 4 + 4 + 4 + 4 + 2
        assert [e.position for e in events] == [row.id for row in rows]

        previous = genesis("ledger")
        for logged, row in zip(events, rows, strict=True):
            assert (logged.aggregate_id, logged.version) == (
                str(row.originator_id),
                row.originator_version,
            )
            assert logged.topic == row.topic and not logged.decode_error
            assert (logged.actor, logged.correlation_id, logged.causation_id) == (
                "u-auditee",
                "corr-1",
                "cause-1",
            )
            assert logged.recorded_at.endswith("Z")
            seconds = parse(logged.recorded_at).timestamp()
            assert int(seconds) == logged.recorded_at_micros // 1_000_000
            previous = link(previous, row)
            assert logged.chain_hash == (previous.hex() if row.id <= rows[14].id else "")

        first = events[0]
        assert first.type == "Account.Opened" and first.aggregate_id == str(accounts[0].id)
        opened = {"holder": WITHHELD, "team": "team-0", "originator_topic": TOPIC}
        assert state(first) == opened
        assert events[1].type == "Account.Credited" and state(events[1]) == {"amount": 1}
        everything = b"".join(e.SerializeToString() for e in events)
        assert HOLDER.encode() not in everything  # auditors never read personal data

        # after_position: the rest of the log after a position, in order.
        reply = await stub.ReadEvents(pb.ReadEventsRequest(after_position=rows[9].id))
        assert [e.position for e in reply.events] == [row.id for row in rows[10:]]
        assert reply.next_page_token == ""
        reply = await stub.ReadEvents(pb.ReadEventsRequest(after_position=rows[-1].id))
        assert list(reply.events) == [] and reply.next_page_token == ""
        # A full last page says there is no more (it looks ahead).
        reply = await stub.ReadEvents(pb.ReadEventsRequest(page_size=18))
        assert len(reply.events) == 18 and reply.next_page_token == ""


async def test_since_keeps_the_later_events_and_pages_within_a_scan_budget(
    sqlite_app: Ledger, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(sqlite_app, accounts=4)
    cut = tick()  # every event written so far is earlier
    tick()  # and every event written from here on later
    later = write(sqlite_app, accounts=2)
    positions = [row.id for row in sqlite_app.notifications(0, 1000)]
    async with (
        serving(sqlite_app, issuer, unreachable_nats()) as port,
        audit_stub(port, issuer, "admin") as stub,
    ):
        events, _ = await read_all(stub, since=cut.isoformat())
        assert [e.position for e in events] == positions[12:]
        assert {e.aggregate_id for e in events} == {str(a.id) for a in later}

        monkeypatch.setattr(auditlog, "SCAN_BUDGET", 5)  # 18 rows: 4 calls, some pages empty
        events, calls = await read_all(stub, since=cut.isoformat().replace("+00:00", "Z"))
        assert [e.position for e in events] == positions[12:] and calls == 4
        first = await stub.ReadEvents(pb.ReadEventsRequest(since=cut.isoformat()))
        assert list(first.events) == [] and first.next_page_token  # short page, more to read

        future = await stub.ReadEvents(pb.ReadEventsRequest(since="2999-01-01T00:00:00+02:00"))
        assert list(future.events) == []


async def test_big_pages_are_cut_short_and_the_token_goes_on(
    sqlite_app: Ledger, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    (account,) = write(sqlite_app, accounts=1, credits=9)
    positions = [row.id for row in sqlite_app.notifications(0, 1000)]
    monkeypatch.setattr(auditlog, "MAX_PAGE_BYTES", 700)  # a few events per page
    async with (
        serving(sqlite_app, issuer, unreachable_nats()) as port,
        audit_stub(port, issuer) as stub,
    ):
        first = await stub.ReadEvents(pb.ReadEventsRequest(page_size=1000))
        assert 1 <= len(first.events) < 10 and first.next_page_token
        events, calls = await read_all(stub, page_size=1000)
        assert [e.position for e in events] == positions and calls > 2

        versions, token = [], ""
        while True:
            page = await stub.GetAggregateHistory(
                pb.GetAggregateHistoryRequest(aggregate_id=str(account.id), page_token=token)
            )
            versions += [e.version for e in page.events]
            token = page.next_page_token
            if not token:
                break
        assert versions == list(range(1, 11))


async def test_read_events_names_every_bad_field(app: Ledger, issuer: DevIssuer) -> None:
    write(app, accounts=1)
    async with serving(app, issuer, unreachable_nats()) as port, audit_stub(port, issuer) as stub:
        read = stub.ReadEvents
        await invalid(app, read, pb.ReadEventsRequest(page_size=-1), ["page_size"])
        await invalid(app, read, pb.ReadEventsRequest(page_size=1001), ["page_size"])
        await invalid(app, read, pb.ReadEventsRequest(page_token="not-a-token"), ["page_token"])
        await invalid(app, read, pb.ReadEventsRequest(since="yesterday"), ["since"])
        await invalid(app, read, pb.ReadEventsRequest(since="2026-03-01T10:00"), ["since"])
        await invalid(app, read, pb.ReadEventsRequest(after_position=-1), ["after_position"])
        everything = pb.ReadEventsRequest(
            after_position=-5, since="soon", page_size=5000, page_token="x"
        )
        await invalid(app, read, everything, ["after_position", "page_size", "since", "page_token"])
        # A history token is not a position token.
        history_token = auditlog.encode_token("v", 3)
        await invalid(app, read, pb.ReadEventsRequest(page_token=history_token), ["page_token"])
        assert (await read(pb.ReadEventsRequest(page_size=1000))).events


# -- GetAggregateHistory ------------------------------------------------------------------------
async def test_aggregate_history_in_version_order(app: Ledger, issuer: DevIssuer) -> None:
    first, second = write(app, accounts=2, credits=4)
    by_aggregate = [r for r in app.notifications(0, 1000) if r.originator_id == second.id]
    async with serving(app, issuer, unreachable_nats()) as port, audit_stub(port, issuer) as stub:
        reply = await stub.GetAggregateHistory(
            pb.GetAggregateHistoryRequest(aggregate_id=str(second.id))
        )
        assert reply.next_page_token == ""
        assert [e.version for e in reply.events] == [1, 2, 3, 4, 5]
        assert [e.position for e in reply.events] == [r.id for r in by_aggregate]
        assert [e.type for e in reply.events] == ["Account.Opened"] + ["Account.Credited"] * 4
        opened = {"holder": WITHHELD, "team": "team-1", "originator_topic": TOPIC}
        assert state(reply.events[0]) == opened
        assert {e.aggregate_id for e in reply.events} == {str(second.id)}
        assert all(e.actor == "u-auditee" and e.chain_hash == "" for e in reply.events)

        Chainer(app).chain()
        hashes = dict(ChainTable.for_recorder(app.recorder).all_entries())
        versions, token = [], ""
        while True:
            page = await stub.GetAggregateHistory(
                pb.GetAggregateHistoryRequest(
                    aggregate_id=str(first.id), page_size=2, page_token=token
                )
            )
            assert len(page.events) <= 2
            versions += [e.version for e in page.events]
            assert all(e.chain_hash == hashes[e.position].hex() for e in page.events)
            token = page.next_page_token
            if not token:
                break
        assert versions == [1, 2, 3, 4, 5]

        missing = pb.GetAggregateHistoryRequest(aggregate_id=str(uuid.uuid4()))
        error = await refused(app, grpc.StatusCode.NOT_FOUND, stub.GetAggregateHistory, missing)
        assert "not found" in (error.details() or "")
        history = stub.GetAggregateHistory
        await invalid(
            app, history, pb.GetAggregateHistoryRequest(aggregate_id="nope"), ["aggregate_id"]
        )
        await invalid(
            app,
            history,
            pb.GetAggregateHistoryRequest(aggregate_id="", page_size=-2, page_token="zz"),
            ["aggregate_id", "page_size", "page_token"],
        )


# -- VerifyChain --------------------------------------------------------------------------------
async def publish_checkpoint(app: ServiceApplication, nats_url: str) -> int:
    """Chain the store and publish a signed checkpoint at its head (development key)."""
    publisher = CheckpointPublisher(app, nats_url)
    try:
        checkpoint = await publisher.publish_once()
    finally:
        await publisher.close()
    assert checkpoint is not None
    return checkpoint.position


async def declare(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        await declare_streams(nc.jetstream(timeout=5))
    finally:
        await nc.close()


async def test_verify_chain_passes_a_clean_store_and_finds_a_tampered_row(
    sqlite_app: Ledger, issuer: DevIssuer, nats_server: LocalNatsServer
) -> None:
    await declare(nats_server.url)
    write(sqlite_app, accounts=3)
    first_checkpoint = await publish_checkpoint(sqlite_app, nats_server.url)
    write(sqlite_app, accounts=2)
    head = await publish_checkpoint(sqlite_app, nats_server.url)
    write(sqlite_app, accounts=1)  # after the last chaining: unchained, not a break
    assert (first_checkpoint, head) == (9, 15)

    async with (
        serving(sqlite_app, issuer, nats_server.url) as port,
        audit_stub(port, issuer) as stub,
    ):
        report = await stub.VerifyChain(pb.VerifyChainRequest())
        assert report.ok, report.reason
        assert (report.service, report.first_broken_position, report.reason) == ("ledger", 0, "")
        assert (report.rows, report.chained, report.unchained) == (18, 15, 3)
        assert (report.checkpoints_checked, report.checkpoints_rejected) == (2, 0)
        assert (report.last_checkpoint_position, report.chain_head_position) == (15, 15)
        assert report.verified_at.endswith("Z") and list(report.rejections) == []

        # A tamperer edits a chained row straight in the database (the 4th account's opening).
        path = sqlite_app.env["SQLITE_DBNAME"]
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            (stored,) = db.execute("SELECT state FROM stored_events WHERE rowid = 10").fetchone()
            assert b"team-0" in stored
            db.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = 10",
                (stored.replace(b"team-0", b"team-7"),),
            )
        report = await stub.VerifyChain(pb.VerifyChainRequest())
        assert not report.ok and report.first_broken_position == 10, report.reason
        assert "row 10 changed" in report.reason
        assert report.last_checkpoint_position == 9  # the one before the break still holds

        # The altered row is still listed (it decodes); one that no longer decodes too.
        reply = await stub.ReadEvents(pb.ReadEventsRequest(after_position=9, page_size=1))
        (logged,) = reply.events
        assert logged.position == 10 and state(logged)["team"] == "team-7"
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = 11", (b"\\x00junk",))
        reply = await stub.ReadEvents(pb.ReadEventsRequest(after_position=10, page_size=2))
        broken, fine = reply.events
        assert broken.position == 11 and "cannot be decoded" in broken.decode_error
        assert (broken.type, broken.state_json, broken.actor) == ("", "", "")
        assert broken.chain_hash and fine.position == 12 and not fine.decode_error
        report = await stub.VerifyChain(pb.VerifyChainRequest())
        assert report.first_broken_position == 10  # still the first break


async def test_verify_chain_without_nats_is_unavailable_and_writes_nothing(
    sqlite_app: Ledger, issuer: DevIssuer
) -> None:
    write(sqlite_app, accounts=2)
    Chainer(sqlite_app).chain()
    table = ChainTable.for_recorder(sqlite_app.recorder)
    before = list(table.all_entries())
    url = unreachable_nats()
    async with serving(sqlite_app, issuer, url) as port, audit_stub(port, issuer) as stub:
        started = time.monotonic()
        error = await refused(
            sqlite_app, grpc.StatusCode.UNAVAILABLE, stub.VerifyChain, pb.VerifyChainRequest()
        )
        assert time.monotonic() - started < 10
    details = error.details() or ""
    assert "NATS" in details and url in details and "nothing was verified" in details
    assert list(table.all_entries()) == before


# -- who may call -------------------------------------------------------------------------------
async def test_only_admins_and_auditors_may_read_or_verify(
    sqlite_app: Ledger, issuer: DevIssuer, nats_server: LocalNatsServer
) -> None:
    await declare(nats_server.url)
    (account,) = write(sqlite_app, accounts=1)
    await publish_checkpoint(sqlite_app, nats_server.url)
    calls = [
        ("ReadEvents", pb.ReadEventsRequest()),
        ("GetAggregateHistory", pb.GetAggregateHistoryRequest(aggregate_id=str(account.id))),
        ("VerifyChain", pb.VerifyChainRequest()),
    ]
    denied: list[tuple[str, dict[str, Any]]] = [
        ("programme_manager", {"programmes": [str(uuid.uuid4())]}),
        ("mentor", {"employee_id": "E1"}),
        ("mentee", {"employee_id": "E2"}),
        ("service", {"service": "matching"}),
    ]
    async with serving(sqlite_app, issuer, nats_server.url) as port:
        for role in ("admin", "auditor"):
            async with audit_stub(port, issuer, role) as stub:
                for method, request in calls:
                    reply = await getattr(stub, method)(request)
                    assert reply.ByteSize() > 0, (role, method)
        for role, claims in denied:
            async with audit_stub(port, issuer, role, **claims) as stub:
                for method, request in calls:
                    error = await refused(
                        sqlite_app,
                        grpc.StatusCode.PERMISSION_DENIED,
                        getattr(stub, method),
                        request,
                    )
                    assert "not allowed" in (error.details() or ""), (role, method)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            anonymous = pb_grpc.AuditLogServiceStub(channel)
            await refused(
                sqlite_app,
                grpc.StatusCode.UNAUTHENTICATED,
                anonymous.ReadEvents,
                pb.ReadEventsRequest(),
            )
