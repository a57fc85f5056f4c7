"""``revmentor audit replay --programme P [--at TIME]``: the programme as it was.

Every service rebuilds the programme's state from its own stored events
(``AuditLogService.ReplayProgramme``, see :mod:`revmentor.kernel.replay`): a
fresh read model fed the events recorded up to ``--at``, page by page, with
progress streamed back and drawn as one bar for the whole platform. Each state
is canonical JSON with its SHA-256; the platform digest is the SHA-256 of the
canonical ``{service: digest}`` map, so two replays agree exactly when every
service does.

Without ``--at`` the replay is "now": each service reads its live read model
and replays up to the same log position, and both digests are printed; a
difference is a failure (exit 1): the live state and the events disagree.

Text output is a summary per service (what it holds about the programme, by
kind and status) and the digests; ``--json`` prints the full states. Nothing
personal is in either: the services leave it out (docs/security.md).

Exit status: 0 replayed (and, at now, equal to live); 1 a live state differs,
bad input, or a refused call; 2 a service could not be reached.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import grpc

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.cli.audit import auditor_metadata, services_to_verify
from revmentor.cli.common import (
    EXIT_FAILED,
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
from revmentor.kernel import replay
from revmentor.kernel.timestamps import parse
from revmentor.kernel.tls import secure_channel

#: A replay reads a whole store: give a big one time.
REPLAY_TIMEOUT = 1800.0


@dataclass
class Replayed:
    """One service's answer, or why there is none."""

    service: str
    state: pb.ProgrammeState | None = None
    error: str = ""
    unreachable: bool = False

    @property
    def differs(self) -> bool:
        return bool(
            self.state and self.state.live_digest and self.state.live_digest != self.state.digest
        )

    def document(self) -> dict[str, Any]:
        if self.state is None:
            status = "unreachable" if self.unreachable else "error"
            return {"service": self.service, "status": status, "error": self.error}
        s = self.state
        found: dict[str, Any] = {
            "service": self.service,
            "status": "differs" if self.differs else "ok",
            "at": s.at,
            "position": s.position,
            "applied": s.applied,
            "left_out": s.left_out,
            "digest": s.digest,
            "state": json.loads(s.state_json),
        }
        if s.live_digest:
            found["live_digest"] = s.live_digest
        return found


@dataclass
class PlatformProgress:
    """One bar for every service's replay: positions read over log ends."""

    bar: Progress
    read: dict[str, tuple[int, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, service: str, progress: pb.ReplayProgress) -> None:
        with self.lock:
            self.read[service] = (progress.position, progress.last_position)
            done = sum(p for p, _ in self.read.values())
            self.bar.total = max(1, sum(end for _, end in self.read.values()))
            events = f"{len(self.read)} service(s) reporting"
            self.bar.update(min(done, self.bar.total), events)


def replay_one(
    service: str, request: pb.ReplayProgrammeRequest, metadata: Metadata, bar: PlatformProgress
) -> Replayed:
    """Ask ``service`` to replay; never raises for an expected failure."""
    address, source = service_target(service)
    try:
        require_reachable(service, address, source)
    except CliError as error:
        return Replayed(service, error=str(error), unreachable=True)
    with secure_channel(address) as channel:
        stub = pb_grpc.AuditLogServiceStub(channel)
        state: pb.ProgrammeState | None = None
        try:  # read to the end of the stream (the state is its last message)
            for update in stub.ReplayProgramme(request, metadata=metadata, timeout=REPLAY_TIMEOUT):
                if update.HasField("progress"):
                    bar.update(service, update.progress)
                else:
                    state = update.state
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code in LOST:
                reason = f"{code.name}: {error.details()}"  # type: ignore[attr-defined]
                message = unreachable_message(service, address, source, reason)
                return Replayed(service, error=message, unreachable=True)
            return Replayed(service, error=refused_message(error))
    if state is None:
        return Replayed(service, error="the replay ended without a state; retry")
    return Replayed(service, state=state)


def platform_digest(answers: list[Replayed]) -> str:
    """SHA-256 of the canonical {service: digest} of every service that answered."""
    return replay.digest(replay.canonical({a.service: a.state.digest for a in answers if a.state}))


def summary(state: dict[str, Any]) -> str:
    """What a state holds, by kind: ``participants 12 (enrolled 10, withdrawn 2)``."""
    parts = []
    for kind, value in sorted(state.items()):
        if isinstance(value, dict) and "status" in value:
            parts.append(f"{kind} {value['status']}")
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            statuses = Counter(str(v["status"]) for v in value.values() if "status" in v)
            detail = ", ".join(f"{s} {n}" for s, n in sorted(statuses.items()))
            parts.append(f"{kind} {len(value)}" + (f" ({detail})" if detail else ""))
    return "; ".join(parts) or "nothing about this programme"


def print_text(programme: str, at: str | None, answers: list[Replayed]) -> None:
    when = at or "now (compared with the live state)"
    emit(f"programme {programme} at {when}")
    width = max(len(a.service) for a in answers)
    for a in answers:
        name = a.service.ljust(width)
        if a.state is None:
            label = "UNREACHABLE" if a.unreachable else "ERROR"
            emit(f"{name}  {label}: {printable(a.error)}")
            continue
        s = a.state
        live = ""
        if s.live_digest:
            live = "  live: equal" if not a.differs else f"  live: DIFFERS ({s.live_digest})"
        emit(
            f"{name}  {s.applied} events to position {s.position}, {s.left_out} later ones left out"
        )
        emit(f"{' ' * width}  {printable(summary(json.loads(s.state_json)))}")
        emit(f"{' ' * width}  digest {s.digest}{live}")
    emit(f"platform digest {platform_digest(answers)}")


def request_for(args: argparse.Namespace) -> pb.ReplayProgrammeRequest:
    """The request, or CliError naming the bad flag (before any service is asked)."""
    try:
        programme = str(UUID(args.programme))
    except ValueError:
        raise CliError(f"--programme {args.programme!r} must be a programme id (a UUID)") from None
    at = ""
    if args.at:
        try:
            moment: datetime = parse(args.at)
        except ValueError:
            raise CliError(
                f"--at {args.at!r} must be an RFC 3339 time with an offset, "
                "e.g. 2026-03-01T09:00:00Z"
            ) from None
        at = moment.isoformat()
    return pb.ReplayProgrammeRequest(programme_id=programme, at=at)


def exit_code(answers: list[Replayed]) -> int:
    if any(a.differs or (a.state is None and not a.unreachable) for a in answers):
        return EXIT_FAILED
    if any(a.unreachable for a in answers):
        return EXIT_UNREACHABLE
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    request = request_for(args)
    services = services_to_verify(args.service)
    metadata = auditor_metadata(args.token)
    bar = PlatformProgress(Progress("replay", 1, "events read"))
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        answers = list(pool.map(lambda s: replay_one(s, request, metadata, bar), services))
    bar.bar.clear()
    code = exit_code(answers)
    if args.json:
        document = {
            "programme_id": request.programme_id,
            "at": request.at or None,
            "ok": code == EXIT_OK,
            "platform_digest": platform_digest(answers),
            "services": [a.document() for a in answers],
        }
        emit(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print_text(request.programme_id, request.at or None, answers)
    if any(a.differs for a in answers):
        emit("revmentor: the live state differs from the replayed events (see above)", sys.stderr)
    elif code == EXIT_UNREACHABLE:
        emit("revmentor: some services could not replay (see above)", sys.stderr)
    return code
