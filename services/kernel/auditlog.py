"""The auditors' event log: ``revmentor.audit.v1.AuditLogService``, in every service.

:func:`revmentor.kernel.service.serve` adds it to every service process beside
the service's own API, so each store can be read and verified where it lives:

- ``ReadEvents``: the notification log in position order, page by page (a
  page token is the last position read), optionally only events recorded at or
  after ``since``. A ``since`` filter decodes at most :data:`SCAN_BUDGET` rows
  per call, so a page may hold fewer events than asked (even none) while
  ``next_page_token`` says there is more to read; so may a page that would
  pass :data:`MAX_PAGE_BYTES`.
- ``GetAggregateHistory``: one aggregate's events in version order, page by
  page (a token is the last version read; NOT_FOUND when it has none).
- ``VerifyChain``: reads the service's signed checkpoints from the audit stream
  on NATS, then runs :func:`revmentor.kernel.audit.verify` on the store; NATS out
  of reach is UNAVAILABLE and nothing is verified. Nothing is ever written.
- ``ReplayProgramme`` (server-streaming): a programme's state at an instant,
  rebuilt by :mod:`revmentor.kernel.replay` in a worker thread - progress
  messages, then the state. The rebuilt read model decodes personal fields
  where the live one does (it must end in the same state), inside the
  service; the state sent (``programme_state``) holds none. At most
  :data:`MAX_REPLAYS` run at once per process (RESOURCE_EXHAUSTED beyond), and
  one whose caller goes away stops at its next page.

Every event carries its envelope (actor, correlation, causation) and its chain
hash; its state is decoded with ``personal=False``, so every personal field
reads ``[withheld]`` and no data key is touched: auditors never read personal
data. A stored row that no longer decodes (it may have been altered) is still
listed, with ``decode_error`` naming the kind of failure and nothing from its
state. Only admins and auditors may call any of it (:data:`AUDIT_READERS`).
Store work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import grpc
import nats.errors
from eventsourcing.persistence import Notification

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.kernel import replay
from revmentor.kernel.application import ServiceApplication, jsonable
from revmentor.kernel.audit import ChainTable, VerificationReport, read_checkpoints, verify
from revmentor.kernel.auth import ADMIN, AUDITOR
from revmentor.kernel.errors import NotFound, Violations
from revmentor.kernel.natsauth import nats_connect_options
from revmentor.kernel.timestamps import instant, micros, parse, stamp

log = logging.getLogger(__name__)

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AuditLogService"].full_name
#: Adds the servicer to a grpc.aio server (``GrpcServer.add``'s ``register``).
register = pb_grpc.add_AuditLogServiceServicer_to_server

#: Who may read the event log: admins and auditors, nobody else (not managers,
#: participants or services).
AUDIT_READERS = frozenset({ADMIN, AUDITOR})

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Most rows one ReadEvents call decodes while looking for events in ``since``.
SCAN_BUDGET = 10_000
#: A page stops growing past this many bytes (the gRPC limit is 4 MiB): big
#: events make short pages, and the token goes on after the last one sent.
MAX_PAGE_BYTES = 3 * 1024 * 1024
#: Positions looked up in the chain table per query (SQLite's parameter limit).
LOOKUP_CHUNK = 500
#: Point-in-time replays one process runs at once (more: RESOURCE_EXHAUSTED).
MAX_REPLAYS = 2
#: Seconds to read the checkpoints from NATS before answering UNAVAILABLE.
NATS_TIMEOUT = 15.0

_POSITION_TOKEN = "p"  # ReadEvents: the last position read
_VERSION_TOKEN = "v"  # GetAggregateHistory: the last version read
_LEFT_OUT = ("originator_id", "originator_version", "timestamp")


# -- page tokens ---------------------------------------------------------------------------------
def encode_token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_token(kind: str, token: str) -> int | None:
    """The value in a token of ``kind``; None if it is not one this service gave out."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        found, value = text.split(":", 1)
        number = int(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return number if found == kind and number >= 0 else None


def _page_size(v: Violations, page_size: int) -> int:
    v.check(
        0 <= page_size <= MAX_PAGE_SIZE,
        "page_size",
        f"must be 0-{MAX_PAGE_SIZE} (0 = {DEFAULT_PAGE_SIZE})",
    )
    return page_size or DEFAULT_PAGE_SIZE


def _token(v: Violations, kind: str, token: str) -> int | None:
    if not token:
        return None
    value = decode_token(kind, token)
    v.check(value is not None, "page_token", "is not a token returned by a previous call")
    return value


# -- reading the store ---------------------------------------------------------------------------
def chain_hashes(table: ChainTable, positions: Iterable[int]) -> dict[int, bytes]:
    """position -> chain hash, for the given positions that are chained."""
    wanted = sorted(set(positions))
    mark = "%s" if table.postgres else "?"
    found: dict[int, bytes] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        statement = (
            f"SELECT position, hash FROM {table.table}"
            f" WHERE position IN ({', '.join([mark] * len(chunk))})"
        )
        with table.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, chunk)
            found.update({int(row["position"]): bytes(row["hash"]) for row in cursor.fetchall()})
    return found


def aggregate_rows(
    app: ServiceApplication, aggregate_id: UUID, after_version: int, limit: int
) -> list[Notification]:
    """One aggregate's stored rows after ``after_version``, with their log positions."""
    recorder: Any = app.recorder
    datastore = recorder.datastore
    columns = "originator_version, topic, state"
    if hasattr(datastore, "schema"):  # PostgreSQL
        table = f'"{datastore.schema}"."{recorder.events_table_name}"'
        statement = (
            f"SELECT notification_id AS id, {columns} FROM {table}"
            " WHERE originator_id = %s AND originator_version > %s"
            " ORDER BY originator_version LIMIT %s"
        )
        key: Any = aggregate_id
    else:  # SQLite: the notification id is the rowid; ids are stored as hex
        statement = (
            f"SELECT rowid AS id, {columns} FROM {recorder.events_table_name}"
            " WHERE originator_id = ? AND originator_version > ?"
            " ORDER BY originator_version LIMIT ?"
        )
        key = aggregate_id.hex
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, (key, after_version, limit))
        rows = cursor.fetchall()
    return [
        Notification(
            id=int(row["id"]),
            originator_id=aggregate_id,
            originator_version=int(row["originator_version"]),
            topic=str(row["topic"]),
            state=bytes(row["state"]),
        )
        for row in rows
    ]


class Decoded:
    """One stored row as the auditors see it, personal fields withheld."""

    def __init__(self, app: ServiceApplication, row: Notification):
        self.row = row
        self.error = ""
        self.type = ""
        self.timestamp: datetime | None = None
        self.envelope: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        try:
            event, envelope = app.envelope_mapper.decode(row, personal=False)
            state = {k: v for k, v in vars(event).items() if k not in _LEFT_OUT}
            self.state = jsonable(state)
        except Exception as error:  # noqa: BLE001 - an altered row is listed, not fatal
            # Only the kind of failure: a message could quote stored bytes.
            self.error = f"the stored row cannot be decoded ({type(error).__name__})"
            return
        self.type = type(event).__qualname__
        self.envelope = envelope if isinstance(envelope, dict) else {}
        timestamp = getattr(event, "timestamp", None)
        if isinstance(timestamp, datetime):
            aware = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
            self.timestamp = aware.astimezone(UTC)

    def recorded_since(self, since: datetime | None) -> bool:
        """In the ``since`` window (an undecodable row always is: its time is unknown)."""
        if since is None or self.error or self.timestamp is None:
            return True
        return self.timestamp >= since

    def message(self, chain_hash: bytes | None) -> pb.LoggedEvent:
        event = pb.LoggedEvent(
            position=self.row.id,
            aggregate_id=str(self.row.originator_id),
            version=self.row.originator_version,
            topic=self.row.topic,
            chain_hash=chain_hash.hex() if chain_hash else "",
            decode_error=self.error,
        )
        if self.error:
            return event
        event.type = self.type
        event.recorded_at = stamp(self.timestamp) if self.timestamp else ""
        event.recorded_at_micros = micros(self.timestamp) if self.timestamp else 0
        event.actor = str(self.envelope.get("actor", ""))
        event.correlation_id = str(self.envelope.get("correlation_id", ""))
        event.causation_id = str(self.envelope.get("causation_id", ""))
        event.state_json = json.dumps(self.state, sort_keys=True, ensure_ascii=False)
        return event


class AuditLog:
    """The store side of the API (blocking: call from a worker thread)."""

    def __init__(self, app: ServiceApplication):
        self.app = app
        self._table: ChainTable | None = None

    @property
    def table(self) -> ChainTable:
        if self._table is None:
            self._table = ChainTable.for_recorder(self.app.recorder)
        return self._table

    def messages(self, decoded: Sequence[Decoded]) -> list[pb.LoggedEvent]:
        """The events as messages, cut short (at least one kept) before the page
        would pass :data:`MAX_PAGE_BYTES`."""
        hashes = chain_hashes(self.table, (d.row.id for d in decoded))
        messages: list[pb.LoggedEvent] = []
        total = 0
        for d in decoded:
            message = d.message(hashes.get(d.row.id))
            total += message.ByteSize() + 8  # + the field's tag and length
            if messages and total > MAX_PAGE_BYTES:
                break
            messages.append(message)
        return messages

    def read(self, after: int, since: datetime | None, size: int) -> pb.ReadEventsResponse:
        found: list[Decoded] = []
        scanned, position = 0, after
        chunk_size = size if since is None else MAX_PAGE_SIZE
        while True:
            chunk = self.app.notifications(position, chunk_size)
            for row in chunk:
                position, scanned = row.id, scanned + 1
                decoded = Decoded(self.app, row)
                if decoded.recorded_since(since):
                    found.append(decoded)
                if len(found) == size or scanned >= SCAN_BUDGET:
                    break
            if len(found) == size or scanned >= SCAN_BUDGET:
                more = bool(self.app.notifications(position, 1))
                break
            if len(chunk) < chunk_size:
                more = False  # the end of the log
                break
        events = self.messages(found)
        if len(events) < len(found):  # cut for size: go on after the last one sent
            position, more = events[-1].position, True
        return pb.ReadEventsResponse(
            events=events,
            next_page_token=encode_token(_POSITION_TOKEN, position) if more else "",
        )

    def history(self, aggregate_id: UUID, after_version: int, size: int) -> pb.ReadEventsResponse:
        rows = aggregate_rows(self.app, aggregate_id, after_version, size + 1)
        if not rows and not after_version:
            raise NotFound(f"aggregate {aggregate_id} not found")
        events = self.messages([Decoded(self.app, row) for row in rows[:size]])
        more = len(rows) > len(events)
        token = encode_token(_VERSION_TOKEN, events[-1].version) if more else ""
        return pb.ReadEventsResponse(events=events, next_page_token=token)


def programme_state(
    app: ServiceApplication,
    service: str,
    programme_id: str,
    at: datetime | None,
    progress: Callable[[pb.ReplayProgress], None],
) -> pb.ProgrammeState:
    """Replay ``programme_id`` in ``app`` as of ``at`` (blocking: a worker thread).
    Without ``at``: the live state first, then the log up to its position."""
    upto: int | None = None
    live_text = ""
    end = replay.last_position(app)
    if at is None:
        upto, live_text = replay.live_state(app, programme_id)
        end = upto

    def page_read(done: replay.Replay) -> None:
        total = max(end, done.position)
        progress(
            pb.ReplayProgress(position=done.position, last_position=total, applied=done.applied)
        )

    moment = at or datetime.now(UTC)
    result = replay.replay(app, at, upto, page_read)
    text = result.state_of(programme_id)
    return pb.ProgrammeState(
        service=service,
        programme_id=programme_id,
        at=instant(moment),
        position=result.position,
        applied=result.applied,
        left_out=result.left_out,
        state_json=text,
        digest=replay.digest(text),
        live_digest=replay.digest(live_text) if at is None else "",
    )


class ReplayAbandoned(Exception):
    """The caller went away: the worker stops at its next page."""


async def replay_updates(
    app: ServiceApplication, service: str, programme_id: str, at: datetime | None
) -> AsyncIterator[pb.ReplayUpdate]:
    """Progress messages while a worker thread reads the log, then the state.

    If the caller goes away (the stream is closed or cancelled), the worker is
    told and stops at its next page: an abandoned replay never keeps reading.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[pb.ReplayUpdate | BaseException] = asyncio.Queue()
    abandoned = threading.Event()

    def put(item: pb.ReplayUpdate | BaseException) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    def progress(step: pb.ReplayProgress) -> None:
        if abandoned.is_set():
            raise ReplayAbandoned
        put(pb.ReplayUpdate(progress=step))

    def work() -> None:
        try:
            put(pb.ReplayUpdate(state=programme_state(app, service, programme_id, at, progress)))
        except ReplayAbandoned:
            return  # the caller went away: nobody to tell
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's task
            put(error)

    worker = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.HasField("state"):
                return
    finally:
        abandoned.set()
        await asyncio.shield(worker)


def verification(report: VerificationReport, at: datetime | None = None) -> pb.ChainVerification:
    return pb.ChainVerification(
        service=report.service,
        ok=report.ok,
        first_broken_position=report.first_broken_position or 0,
        reason=report.reason,
        rows=report.rows,
        chained=report.chain_entries,
        checkpoints_checked=report.checkpoints,
        checkpoints_rejected=len(report.rejected),
        last_checkpoint_position=report.last_verified_checkpoint,
        verified_at=stamp(at or datetime.now(UTC)),
        unchained=report.unchained,
        chain_head_position=report.chained,
        rejections=list(report.rejected),
    )


async def _quiet(error: Exception) -> None:
    """nats-py's error callback: the failure is raised and reported by the caller."""


# -- the servicer --------------------------------------------------------------------------------
class AuditLogServicer(pb_grpc.AuditLogServiceServicer):
    """``AuditLogService`` over one service's store; its checkpoints are read from
    the audit stream at ``nats_url`` as ``service`` (its own NATS identity)."""

    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = {
        "ReadEvents": AUDIT_READERS,
        "GetAggregateHistory": AUDIT_READERS,
        "VerifyChain": AUDIT_READERS,
        "ReplayProgramme": AUDIT_READERS,
    }

    def __init__(self, app: ServiceApplication, nats_url: str, service: str = ""):
        self.app = app
        self.nats_url = nats_url
        self.service = service or app.name
        self.log = AuditLog(app)
        #: Replays read the whole log in worker threads: a few at a time per
        #: process, so they never take the threads the service's own work needs.
        self._replays = asyncio.Semaphore(MAX_REPLAYS)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    def _nats_options(self) -> dict[str, Any]:
        """The service's own NATS identity; one connection attempt, reported here
        (nats-py otherwise retries an initial connection until the deadline)."""
        return {
            **nats_connect_options(self.service),
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.2,
            "error_cb": _quiet,
        }

    async def ReadEvents(
        self, request: pb.ReadEventsRequest, context: Context
    ) -> pb.ReadEventsResponse:
        v = Violations()
        v.check(request.after_position >= 0, "after_position", "must be 0 (the start) or more")
        size = _page_size(v, request.page_size)
        since: datetime | None = None
        if request.since:
            try:
                since = parse(request.since)
            except ValueError:
                v.add("since", "must be an RFC 3339 time with an offset, e.g. 2026-03-01T00:00:00Z")
        position = _token(v, _POSITION_TOKEN, request.page_token)
        v.raise_if_any()
        after = max(request.after_position, position or 0)
        return await self._run(self.log.read, after, since, size)

    async def GetAggregateHistory(
        self, request: pb.GetAggregateHistoryRequest, context: Context
    ) -> pb.ReadEventsResponse:
        v = Violations()
        aggregate_id: UUID | None = None
        try:
            aggregate_id = UUID(request.aggregate_id)
        except ValueError:
            v.add("aggregate_id", "must be a UUID")
        size = _page_size(v, request.page_size)
        version = _token(v, _VERSION_TOKEN, request.page_token)
        v.raise_if_any()
        assert aggregate_id is not None
        return await self._run(self.log.history, aggregate_id, version or 0, size)

    async def ReplayProgramme(
        self, request: pb.ReplayProgrammeRequest, context: Context
    ) -> AsyncIterator[pb.ReplayUpdate]:
        v = Violations()
        programme_id = ""
        try:
            programme_id = str(UUID(request.programme_id))  # the form the read models keep
        except ValueError:
            v.add("programme_id", "must be a UUID")
        at: datetime | None = None
        if request.at:
            try:
                at = parse(request.at)
            except ValueError:
                v.add("at", "must be an RFC 3339 time with an offset, e.g. 2026-03-01T09:00:00Z")
        v.raise_if_any()
        if self._replays.locked():
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{MAX_REPLAYS} replay(s) already running in this {self.service} process; "
                "retry when they are done",
            )
        async with self._replays:
            async for update in replay_updates(self.app, self.service, programme_id, at):
                yield update

    async def VerifyChain(
        self, request: pb.VerifyChainRequest, context: Context
    ) -> pb.ChainVerification:
        try:
            checkpoints = await asyncio.wait_for(
                read_checkpoints(self.nats_url, self.service, connect_options=self._nats_options()),
                NATS_TIMEOUT,
            )
        except (TimeoutError, nats.errors.Error, OSError) as error:
            log.warning("%s: cannot read the audit checkpoints: %s", self.service, error)
            await context.abort(
                grpc.StatusCode.UNAVAILABLE,
                f"cannot read {self.service}'s signed checkpoints from NATS at {self.nats_url} "
                f"({type(error).__name__}); nothing was verified - retry when NATS is back",
            )
        report = await self._run(verify, self.app, checkpoints)
        return verification(report)
