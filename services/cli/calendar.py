"""``revmentor calendar PARTICIPANT_ID``: a participant's sessions as an .ics file.

Asks the scheduling service for the participant's iCalendar feed (RFC 5545)
and writes it to a file calendar programs import or subscribe to (or to
standard output). Stable UIDs and SEQUENCE numbers make a re-import update
the events in place rather than duplicate them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import grpc

from revmentor.cli.common import EXIT_FAILED, CliError
from revmentor.cli.endpoints import require_reachable, service_target
from revmentor.cli.importer import bearer, refused_message
from revmentor.kernel.tls import secure_channel
from revmentor.scheduling.v1 import scheduling_pb2 as pb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

TOOL = "cli:calendar"


def fetch(participant_id: str, token: str | None, target: str | None = None) -> str:
    """The participant's feed as text; CliError saying what to do on failure."""
    metadata = bearer(token, TOOL)
    address, source = service_target("scheduling", target)
    require_reachable("scheduling", address, source)
    with secure_channel(address) as channel:
        try:
            reply = pb_grpc.SchedulingServiceStub(channel).GetCalendar(
                pb.GetCalendarRequest(participant_id=participant_id),
                metadata=metadata,
                timeout=30,
            )
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.NOT_FOUND:
                raise CliError(
                    f"scheduling knows no participant {participant_id} you may see: check the "
                    "id (`revmentor participant export ID` lists what each service holds)",
                    EXIT_FAILED,
                ) from None
            raise CliError(f"scheduling: {refused_message(error)}", EXIT_FAILED) from None
    return str(reply.ics)


def run(participant_id: str, token: str | None, output: Path | None, target: str | None) -> int:
    ics = fetch(participant_id, token, target)
    if output is None:
        sys.stdout.write(ics)
        return 0
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # agendas are personal
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(ics)
    events = ics.count("BEGIN:VEVENT")
    print(f"wrote {events} session(s) of {participant_id} to {output}", file=sys.stderr)
    return 0
