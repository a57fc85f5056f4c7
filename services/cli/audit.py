"""``revmentor audit verify``: is every service's event store as it was recorded?

Each service verifies its own store (``AuditLogService.VerifyChain``, see
:mod:`revmentor.kernel.auditlog`): it recomputes the hash chain over its stored
rows and compares it with its chain table and with its Ed25519-signed
checkpoints on the ``REVMENTOR_AUDIT`` stream. This command asks every service
of the platform (or only ``--service``), all at once, and prints one line per
service, in the platform's order::

    enrolment   ok  rows 1234, chained 1234, 5 checkpoints checked, last at 1200
    matching    BROKEN at position 42: row 42 changed (or its chain entry did)

``--json`` prints one JSON object instead: ``{"ok": ..., "services": [...]}``
with each service's ``status`` (ok, broken, rejected, unreachable, error) and
the fields of its ``ChainVerification``.

Exit status: 0 every service verified ok; 1 a break, a rejected checkpoint or a
refused call (a break wins over an unreachable service); 2 a service, or the
NATS it reads its checkpoints from, could not be reached.

The token: ``--token``, else ``$REVMENTOR_TOKEN``, else a short-lived *auditor*
token minted from the development key of ``revmentor up`` (an auditor reads
the log and verifies, and can change nothing).
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import grpc

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.cli import devkeys
from revmentor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, LOST, CliError, emit
from revmentor.cli.endpoints import require_reachable, service_target, unreachable_message
from revmentor.cli.importer import Metadata, bearer, refused_message
from revmentor.cli.up import available_services
from revmentor.kernel.settings import var_dir
from revmentor.kernel.tls import secure_channel

TOOL = "cli:audit"
#: A verification reads the whole store: give a big one time.
VERIFY_TIMEOUT = 300.0

OK, BROKEN, REJECTED, UNREACHABLE, ERROR = "ok", "broken", "rejected", "unreachable", "error"


@dataclass
class Outcome:
    """What one service answered (or why it did not)."""

    service: str
    status: str
    verification: pb.ChainVerification | None = None
    error: str = ""

    def line(self, width: int) -> str:
        name = self.service.ljust(width)
        v = self.verification
        if self.status == OK and v is not None:
            plural = "" if v.checkpoints_checked == 1 else "s"
            text = (
                f"{name}  ok  rows {v.rows}, chained {v.chained}, {v.checkpoints_checked} "
                f"checkpoint{plural} checked, last at {v.last_checkpoint_position}"
            )
            return text + (f", {v.unchained} not chained yet" if v.unchained else "")
        if self.status == BROKEN and v is not None:
            return f"{name}  BROKEN at position {v.first_broken_position}: {v.reason}"
        if self.status == REJECTED and v is not None:
            return (
                f"{name}  NOT VERIFIED: {v.checkpoints_rejected} checkpoint(s) rejected: {v.reason}"
            )
        label = "UNREACHABLE" if self.status == UNREACHABLE else "ERROR"
        return f"{name}  {label}: {self.error}"

    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = {"service": self.service, "status": self.status}
        if self.verification is not None:
            found.update(fields_of(self.verification))
            found["status"] = self.status
        if self.error:
            found["error"] = self.error
        return found


def fields_of(message: Any) -> dict[str, Any]:
    """A message's fields by name, integers as integers (not proto3 JSON strings)."""
    return {
        f.name: list(getattr(message, f.name)) if f.is_repeated else getattr(message, f.name)
        for f in message.DESCRIPTOR.fields
    }


def auditor_metadata(token: str | None) -> Metadata:
    """--token, else $REVMENTOR_TOKEN, else an auditor token from the development key."""
    token = token or os.environ.get("REVMENTOR_TOKEN")
    var = var_dir()
    if not token and (devkeys.secrets_dir(var) / devkeys.KEY_FILE).exists():
        token = devkeys.load(var).mint(TOOL, roles=["auditor"], ttl=devkeys.TOOL_TOKEN_SECONDS)
    return bearer(token, TOOL)


def verify_one(service: str, metadata: Metadata) -> Outcome:
    """Ask ``service`` to verify its chain; never raises for an expected failure."""
    address, source = service_target(service)
    try:
        require_reachable(service, address, source)
    except CliError as error:
        return Outcome(service, UNREACHABLE, error=str(error))
    with secure_channel(address) as channel:
        try:
            reply = pb_grpc.AuditLogServiceStub(channel).VerifyChain(
                pb.VerifyChainRequest(), metadata=metadata, timeout=VERIFY_TIMEOUT
            )
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code in LOST:
                reason = f"{code.name}: {error.details()}"  # type: ignore[attr-defined]
                message = unreachable_message(service, address, source, reason)
                return Outcome(service, UNREACHABLE, error=message)
            if code == grpc.StatusCode.PERMISSION_DENIED:
                hint = "use an admin or auditor token (`revmentor token --role auditor --sub ME`)"
                message = f"{code.name}: {error.details()}; {hint}"  # type: ignore[attr-defined]
                return Outcome(service, ERROR, error=message)
            return Outcome(service, ERROR, error=refused_message(error))
    if reply.ok:
        status = OK
    elif reply.first_broken_position:
        status = BROKEN
    else:
        status = REJECTED
    return Outcome(service, status, verification=reply)


def exit_code(outcomes: list[Outcome]) -> int:
    statuses = {o.status for o in outcomes}
    if statuses & {BROKEN, REJECTED, ERROR}:
        return EXIT_FAILED
    if UNREACHABLE in statuses:
        return EXIT_UNREACHABLE
    return EXIT_OK


def services_to_verify(service: str | None) -> list[str]:
    services = available_services()
    if service is None:
        return services
    if service not in services:
        raise CliError(f"no service {service!r} here: choose one of {', '.join(services)}")
    return [service]


def verify(service: str | None, as_json: bool, token: str | None) -> int:
    services = services_to_verify(service)
    metadata = auditor_metadata(token)
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        outcomes = list(pool.map(lambda name: verify_one(name, metadata), services))
    code = exit_code(outcomes)
    if as_json:
        document = {"ok": code == EXIT_OK, "services": [o.document() for o in outcomes]}
        emit(json.dumps(document, indent=2, sort_keys=True))
        return code
    width = max(len(o.service) for o in outcomes)
    for outcome in outcomes:
        first, *more = outcome.line(width).splitlines()
        emit(first)
        for extra in more:
            emit(f"{' ' * width}  {extra}")
    if code == EXIT_UNREACHABLE:
        emit("revmentor: some services could not be verified (see above)", sys.stderr)
    return code
