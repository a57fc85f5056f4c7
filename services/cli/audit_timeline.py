"""``revmentor audit timeline``: one programme's or one participant's history, across services.

Every service's event log is read through the auditors' API
(``AuditLogService.ReadEvents``, :mod:`revmentor.kernel.auditlog`), page by
page in position order, one service after the other in the platform's order;
only the events of the subject are kept, so the whole log is never held. The
kept events are merged into one chronological list of *steps*, printed as
text, JSON or one self-contained HTML page (:mod:`revmentor.cli.timeline_html`).

Which events belong (checked against the event classes in
``services/*/domain``; ids compare as lower-case strings, whole values only):

``--programme P``
  1. an event of an aggregate that already belongs (every later event of it:
     ``Pair.Linked`` or ``Match.Confirmed`` do not repeat the programme id);
  2. an event whose aggregate id is P (enrolment's ``Programme``);
  3. an event whose state has the value P under a key ending in
     ``programme_id``, at any depth (every created event but two carries it);
  4. a created event (version 1) with no ``programme_id`` whose top-level
     ``participant_id``/``mentee_id``/``mentor_id`` names a participant of P,
     i.e. one named so by an event that belongs, read earlier (a participant
     id is enrolled in one programme only): scheduling's ``Diary``.
  Never included: enrolment's ``EmployeeRegistration`` index (its only link,
  the participant id, is withheld).

``--participant X``
  1. an event of an aggregate that already belongs;
  2. an event whose aggregate id is X (enrolment's ``Participant``);
  3. an event whose state mentions X anywhere (as a value or a key, in nested
     objects and lists: ``participant_id``, ``mentee_id``, ``mentor_id``, a
     round's proposals, a pool's ``pairs``...): that one event;
  4. the aggregate of a created event that names X at its top level (a field,
     or an element of a list of ids) belongs from then on: the training
     record, the match, the mentorship, the diary, the pair, the surveys. A
     created event naming X only deep inside (``MatchingRound.Recorded``'s
     proposals, a programme-wide record) is included alone, so other people's
     later events are not pulled in.

A row that no longer decodes (``decode_error``) has no state: it is a step
(shown as undecodable) when its aggregate already belongs or is the subject
itself; otherwise it is only counted per service. It has no time either: it
is placed at the time of the decodable row before it in its service's log.

Order: ``recorded_at_micros``, then the platform's service order, then the
log position. Causation: an event recorded by a consumer carries the
upstream CloudEvent id as its causation id, ``<service>:<position>``
(:meth:`revmentor.kernel.consumer.Consumer.request_context`, ids from
:func:`revmentor.kernel.cloudevents.encode`), which is exactly the upstream
event's identity here; such a step shows the number of the step that caused
it when that event is in the timeline. An event recorded by a gRPC call (or a
timer job) carries the call's id instead, which names no event: no link is
drawn and the id is shown as it is. The correlation id, carried unchanged
from a call through every event it causes in any service, groups the steps
of one flow (marked in the HTML).

Formats: ``text`` is a header line (subject, counts, services read and not
read), a line of column titles, then one aligned line per step (control
characters escaped); ``json`` is the document every format is rendered from:
``subject``, ``generated_at``, ``services`` (name -> ``ok`` or
``unreachable: ...``), ``scanned`` and ``undecodable_elsewhere`` (rows per
service), ``correlations`` and ``steps`` (each with its ``id``
``<service>:<position>``, ``time`` RFC 3339 with microseconds or null,
``type``, ``aggregate_id``, ``version``, ``position``, ``actor``,
``correlation_id``, ``causation_id``, ``caused_by`` (a step number or null),
``summary``, the withheld ``state`` and ``decode_error``); ``html`` is one
self-contained page. ``--output FILE`` writes there (its directory must exist).

Nothing is printed that the audit log does not answer; it withholds every
personal field (``[withheld]``). Exit status: 0 the timeline was produced
(also when it is empty: the subject may have no events yet, and a wrong id
cannot be told from that, so stderr says so); 1 bad input or a refused call,
before any output; 2 a service could not be read: the timeline of the others
is still produced, its document says which one is missing, stderr warns.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import grpc

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.cli.audit import auditor_metadata
from revmentor.cli.common import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    LOST,
    CliError,
    Progress,
    emit,
    printable,
)
from revmentor.cli.endpoints import require_reachable, service_target, unreachable_message
from revmentor.cli.importer import Metadata, refused_message
from revmentor.cli.timeline_html import counted, render_html
from revmentor.cli.up import available_services
from revmentor.kernel.timestamps import instant
from revmentor.kernel.tls import secure_channel

PAGE_SIZE = 1000
#: One page decodes at most 1000 rows: a minute is generous.
PAGE_TIMEOUT = 60.0
PEOPLE_KEYS = ("participant_id", "mentee_id", "mentor_id")
SUMMARY_CHARS = 120
SUMMARY_SKIPS = frozenset({"originator_topic"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Subject:
    kind: str  # "programme" | "participant"
    id: str  # a canonical, lower-case UUID

    def title(self) -> str:
        return f"{self.kind} {self.id}"


def subject_of(args: argparse.Namespace) -> Subject:
    """The subject from ``--programme``/``--participant``: a UUID, or a refusal naming the flag."""
    kind = "programme" if args.programme else "participant"
    given = args.programme or args.participant
    try:
        return Subject(kind, str(UUID(given)))
    except ValueError:
        raise CliError(
            f"--{kind} must be a {kind} id, a UUID like 3f2b8c1e-0d4a-4e6b-9c1d-2a7e5f8b9c01; "
            f"got {given!r}"
        ) from None


# -- which events belong --------------------------------------------------------------------------
def mentions(value: Any, wanted: str) -> bool:
    """Whether ``wanted`` is a whole value (or a key) anywhere inside ``value``."""
    if isinstance(value, str):
        return value.lower() == wanted
    if isinstance(value, dict):
        return any(mentions(k, wanted) or mentions(v, wanted) for k, v in value.items())
    if isinstance(value, list):
        return any(mentions(item, wanted) for item in value)
    return False


def programme_ids(value: Any) -> Iterator[str]:
    """Every value under a key ending in ``programme_id``, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if str(key).endswith("programme_id") and isinstance(inner, str):
                yield inner.lower()
            else:
                yield from programme_ids(inner)
    elif isinstance(value, list):
        for item in value:
            yield from programme_ids(item)


def names_directly(state: dict[str, Any], wanted: str) -> bool:
    """``wanted`` is a top-level value, or an element of a top-level list of ids."""
    for value in state.values():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and item.lower() == wanted for item in items):
            return True
    return False


def people_named(state: dict[str, Any]) -> set[str]:
    return {str(state[k]).lower() for k in PEOPLE_KEYS if isinstance(state.get(k), str)}


@dataclass
class Membership:
    """The rules of the module docstring, applied to each service's rows in log order."""

    subject: Subject
    #: (service, aggregate id) of every aggregate known to belong.
    known: set[tuple[str, str]] = field(default_factory=set)
    #: --programme: participants named by events that belong (rule 4).
    members: set[str] = field(default_factory=set)

    def belongs(self, service: str, event: pb.LoggedEvent, state: dict[str, Any] | None) -> bool:
        key = (service, event.aggregate_id.lower())
        if key in self.known or key[1] == self.subject.id:
            found, follow = True, True
        elif state is None:
            return False
        elif self.subject.kind == "programme":
            found = follow = self._in_programme(event, state)
        else:
            found = mentions(state, self.subject.id)
            follow = found and event.version == 1 and names_directly(state, self.subject.id)
        if follow:
            self.known.add(key)
        if found and state is not None and self.subject.kind == "programme":
            self.members |= people_named(state)
        return found

    def _in_programme(self, event: pb.LoggedEvent, state: dict[str, Any]) -> bool:
        ids = set(programme_ids(state))
        if ids:
            return self.subject.id in ids
        return event.version == 1 and bool(people_named(state) & self.members)


# -- steps ---------------------------------------------------------------------------------------
@dataclass
class Step:
    """One kept event, as shown."""

    service: str
    event: pb.LoggedEvent
    state: dict[str, Any] | None
    #: Ordering time: its own, or (undecodable) that of the row before it.
    micros: int
    number: int = 0
    caused_by: int | None = None

    @property
    def identity(self) -> str:
        """The id its CloudEvent carries (``ce-id``), which consumers record as causation."""
        return f"{self.service}:{self.event.position}"

    def document(self) -> dict[str, Any]:
        e = self.event
        return {
            "step": self.number,
            "id": self.identity,
            "time": rfc3339(e.recorded_at_micros) if e.recorded_at_micros else None,
            "service": self.service,
            "type": e.type,
            "aggregate_id": e.aggregate_id,
            "version": e.version,
            "position": e.position,
            "actor": e.actor,
            "correlation_id": e.correlation_id,
            "causation_id": e.causation_id,
            "caused_by": self.caused_by,
            "summary": summary(self.state) if self.state is not None else "",
            "state": self.state,
            "decode_error": e.decode_error,
        }


def rfc3339(micros: int) -> str:
    return instant(_EPOCH + timedelta(microseconds=micros))


def state_of(event: pb.LoggedEvent) -> dict[str, Any] | None:
    if event.decode_error or not event.state_json:
        return None
    state = json.loads(event.state_json)
    return state if isinstance(state, dict) else {"value": state}


def short(value: Any) -> str:
    if isinstance(value, dict):
        return f"{{{len(value)} keys}}"
    if isinstance(value, list):
        if len(value) <= 3 and all(not isinstance(v, dict | list) for v in value):
            return "[" + ", ".join(short(v) for v in value) + "]"
        return f"[{len(value)} items]"
    return "null" if value is None else str(value)


def summary(state: dict[str, Any]) -> str:
    """The state's top-level fields, nested ones counted, cut to :data:`SUMMARY_CHARS`
    (without the library's ``originator_topic``: the event type says it)."""
    fields = ((k, v) for k, v in state.items() if k not in SUMMARY_SKIPS)
    text = ", ".join(f"{key}={short(value)}" for key, value in fields)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def merge(steps: list[Step], order: list[str]) -> list[Step]:
    """Chronological across services; numbered from 1; consumer steps linked to their cause."""
    rank = {name: i for i, name in enumerate(order)}
    merged = sorted(steps, key=lambda s: (s.micros, rank.get(s.service, 99), s.event.position))
    by_identity: dict[str, int] = {}
    for number, step in enumerate(merged, 1):
        step.number = number
        by_identity[step.identity] = number
    for step in merged:
        cause = by_identity.get(step.event.causation_id)
        step.caused_by = cause if cause != step.number else None
    return merged


# -- reading one service -------------------------------------------------------------------------
@dataclass
class ServiceRead:
    service: str
    status: str = "ok"
    steps: list[Step] = field(default_factory=list)
    scanned: int = 0
    undecodable_elsewhere: int = 0


def pages(stub: pb_grpc.AuditLogServiceStub, metadata: Metadata) -> Iterator[list[pb.LoggedEvent]]:
    token = ""
    while True:
        request = pb.ReadEventsRequest(page_size=PAGE_SIZE, page_token=token)
        reply = stub.ReadEvents(request, metadata=metadata, timeout=PAGE_TIMEOUT)
        yield list(reply.events)
        token = reply.next_page_token
        if not token:
            return


def keep(read: ServiceRead, rows: list[pb.LoggedEvent], membership: Membership, last: int) -> int:
    """Keep the rows of the subject; returns the last known time (for undecodable rows)."""
    for row in rows:
        read.scanned += 1
        state = state_of(row)
        last = row.recorded_at_micros or last
        if membership.belongs(read.service, row, state):
            read.steps.append(Step(read.service, row, state, last))
        elif row.decode_error:
            read.undecodable_elsewhere += 1
    return last


def read_service(
    service: str, metadata: Metadata, membership: Membership, progress: Progress, done: int
) -> ServiceRead:
    """The subject's events in ``service``; unreachable (with nothing kept) if it cannot be read."""
    read, address_source = ServiceRead(service), service_target(service)
    try:
        require_reachable(service, *address_source)
    except CliError as error:
        read.status = f"unreachable: {error}"
        return read
    last = 0
    with secure_channel(address_source[0]) as channel:
        stub = pb_grpc.AuditLogServiceStub(channel)
        try:
            for rows in pages(stub, metadata):
                last = keep(read, rows, membership, last)
                detail = f"{service}: {read.scanned} events read, {len(read.steps)} kept"
                progress.update(done, detail)
        except grpc.RpcError as error:
            read.status = failure(service, address_source, error, read.scanned)
            read.steps.clear()
    return read


def failure(service: str, target: tuple[str, str], error: grpc.RpcError, scanned: int) -> str:
    """The status of a service that stopped answering; a refusal is raised (exit 1)."""
    code = error.code()  # type: ignore[attr-defined]
    if code in LOST:
        reason = f"{code.name}: {error.details()} after {scanned} events read"  # type: ignore[attr-defined]
        return "unreachable: " + unreachable_message(service, *target, reason)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        hint = "use an admin or auditor token (`revmentor token --role auditor --sub ME`)"
        raise CliError(f"{service}: {code.name}: {error.details()}; {hint}")  # type: ignore[attr-defined]
    raise CliError(f"{service}: {refused_message(error)}")


# -- the document and its renderings -------------------------------------------------------------
def document(subject: Subject, reads: list[ServiceRead], steps: list[Step]) -> dict[str, Any]:
    """What every format shows: JSON as it is, text and HTML rendered from it."""
    return {
        "subject": {"kind": subject.kind, "id": subject.id},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "services": {r.service: r.status for r in reads},
        "scanned": {r.service: r.scanned for r in reads},
        "undecodable_elsewhere": {r.service: r.undecodable_elsewhere for r in reads},
        "correlations": len({s.event.correlation_id for s in steps if s.event.correlation_id}),
        "steps": [s.document() for s in steps],
    }


COLUMNS = ("#", "time", "service", "event", "aggregate@version", "position", "actor",
           "correlation", "causation", "summary")  # fmt: skip


def text_row(step: dict[str, Any]) -> list[str]:
    cause = step["causation_id"] or "-"
    if step["caused_by"]:
        cause = f"#{step['caused_by']} {cause}"
    return [
        str(step["step"]),
        step["time"] or "unknown",
        step["service"],
        step["type"] or "UNDECODABLE",
        f"{step['aggregate_id']}@{step['version']}",
        str(step["position"]),
        step["actor"] or "-",
        step["correlation_id"] or "-",
        cause,
        step["summary"] or step["decode_error"],
    ]


def header(doc: dict[str, Any]) -> str:
    subject = doc["subject"]
    read = [name for name, status in doc["services"].items() if status == "ok"]
    missing = [name for name, status in doc["services"].items() if status != "ok"]
    text = (
        f"timeline of {subject['kind']} {subject['id']}: {counted(len(doc['steps']), 'step')}, "
        f"{counted(doc['correlations'], 'correlation')}, from {', '.join(read)} "
        f"({counted(sum(doc['scanned'].values()), 'event')} read)"
    )
    return text + (f"; NOT READ: {', '.join(missing)}" if missing else "")


def render_text(doc: dict[str, Any]) -> str:
    rows = [list(COLUMNS), *(text_row(step) for step in doc["steps"])]
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = [printable(header(doc))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def render(doc: dict[str, Any], form: str) -> str:
    if form == "json":
        return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if form == "html":
        return render_html(doc)
    return render_text(doc)


# -- the command ---------------------------------------------------------------------------------
def output_path(given: str | None) -> Path | None:
    """--output, checked before any service is asked: its directory must exist."""
    if given is None:
        return None
    path = Path(given)
    if path.is_dir():
        raise CliError(f"--output {given} is a directory: name a file in it")
    if not path.parent.is_dir():
        raise CliError(
            f"--output {given}: the directory {path.parent} does not exist; "
            f"create it first (mkdir -p {path.parent}) or choose another path"
        )
    return path


def write(content: str, path: Path | None, steps: int) -> None:
    if path is None:
        sys.stdout.write(content)
        sys.stdout.flush()
        return
    try:
        path.write_text(content, encoding="utf-8")
    except OSError as error:
        raise CliError(f"--output {path}: cannot write it ({error.strerror or error})") from None
    emit(f"revmentor: {counted(steps, 'step')} written to {path}", sys.stderr)


def read_all(subject: Subject, metadata: Metadata) -> list[ServiceRead]:
    services = available_services()
    membership = Membership(subject)
    progress = Progress("audit timeline", len(services), "services")
    reads = []
    try:
        for done, service in enumerate(services):
            progress.update(done, f"{service}: starting")
            reads.append(read_service(service, metadata, membership, progress, done))
        progress.update(len(services), f"{sum(len(r.steps) for r in reads)} events kept")
    finally:
        progress.clear()
    return reads


def run(args: argparse.Namespace) -> int:
    subject = subject_of(args)
    path = output_path(args.output)
    reads = read_all(subject, auditor_metadata(args.token))
    lost = [r for r in reads if r.status != "ok"]
    if len(lost) == len(reads):
        details = "\n".join(f"{r.service}: {r.status}" for r in lost)
        message = f"no service could be read, so there is no timeline:\n{details}"
        raise CliError(message, EXIT_UNREACHABLE)
    steps = merge([s for r in reads for s in r.steps], [r.service for r in reads])
    doc = document(subject, reads, steps)
    content = render(doc, args.format)
    write(content, path, len(steps))
    if not steps:
        emit(
            f"revmentor: no events of {subject.title()} in the services read "
            "(is the id right? a new one may have none yet)",
            sys.stderr,
        )
    for read in lost:
        emit(f"revmentor: warning: {read.service} NOT READ: {read.status}", sys.stderr)
    return EXIT_UNREACHABLE if lost else EXIT_OK
