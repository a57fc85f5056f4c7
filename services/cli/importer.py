"""``revmentor enrol import``: bulk enrolment from an HR export, safe to re-run.

Every row is checked for syntax first (see :mod:`revmentor.cli.rows` for the
CSV format); good rows are enrolled through the public gRPC API, which checks
the programme's rules and answers INVALID_ARGUMENT with one violation per bad
field. The import is idempotent by employee id: an employee who is already
enrolled is compared with the row and updated only if the profile differs, so
running the same file again changes nothing.

Every call carries a bearer token (see :func:`bearer`): the one given, or one
minted from the development key of ``revmentor up``; the actor recorded with
each change is the token's subject.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from revmentor.cli import devkeys
from revmentor.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    LOST,
    CliError,
    Progress,
    emit,
)
from revmentor.cli.endpoints import require_reachable, service_target, unreachable_message
from revmentor.cli.rows import Problem, Row, column_problem, read_file
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.grpc_server import field_violations
from revmentor.kernel.settings import var_dir
from revmentor.kernel.tls import secure_channel

OUTCOMES = ("enrolled", "updated", "unchanged", "rejected")
CALL_TIMEOUT = 30.0
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
Metadata = tuple[tuple[str, str], ...]
ROLE_NAMES = {pb.ROLE_MENTOR: "mentor", pb.ROLE_MENTEE: "mentee"}
STATUS_NAMES = {
    pb.PROGRAMME_STATUS_DRAFT: "draft",
    pb.PROGRAMME_STATUS_ENROLMENT_OPEN: "open for enrolment",
    pb.PROGRAMME_STATUS_ENROLMENT_CLOSED: "closed for enrolment",
    pb.PROGRAMME_STATUS_LAUNCHED: "launched",
    pb.PROGRAMME_STATUS_CLOSED: "closed",
}


class ConnectionLost(Exception):
    """The service stopped answering in the middle of the import."""


def bearer(token: str | None, tool: str) -> Metadata:
    """``authorization`` metadata: --token, else $REVMENTOR_TOKEN, else a dev-key token."""
    token = token or os.environ.get("REVMENTOR_TOKEN") or devkeys.tool_token(var_dir(), tool)
    if not token:
        raise CliError(
            "no token to call the service with: pass --token JWT or set REVMENTOR_TOKEN "
            "(for a local platform, `revmentor up` creates the development key that "
            "`revmentor token` signs with)"
        )
    return (("authorization", f"Bearer {token}"),)


def refused_message(error: grpc.RpcError) -> str:
    code = error.code()  # type: ignore[attr-defined]
    hint = (
        "the token was refused; get a fresh one (`revmentor token`) or check REVMENTOR_TOKEN"
        if code == grpc.StatusCode.UNAUTHENTICATED
        else "the token's role may not do this; use an admin or programme manager token"
    )
    return f"{code.name}: {error.details()}; {hint}"  # type: ignore[attr-defined]


@dataclass
class Result:
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{self.counts[o]} {o}" for o in OUTCOMES)


class Importer:
    """Applies rows to one programme through the enrolment API."""

    def __init__(self, stub: Any, programme_id: str, auth: Metadata):
        self.stub = stub
        self.programme_id = programme_id
        self.metadata = (*auth, ("x-correlation-id", f"import-{uuid.uuid4()}"))

    def _call(self, method: Callable[..., Any], request: Any) -> Any:
        try:
            return method(request, timeout=CALL_TIMEOUT, metadata=self.metadata)
        except grpc.RpcError as error:
            if error.code() in LOST:  # type: ignore[attr-defined]
                raise ConnectionLost(error.details() or str(error.code())) from None  # type: ignore[attr-defined]
            if error.code() in REFUSED:  # type: ignore[attr-defined]
                raise CliError(refused_message(error)) from None
            raise

    def apply(self, row: Row) -> tuple[str, list[Problem]]:
        """The outcome of one row and, when rejected, why."""
        if row.request is None:
            return "rejected", row.problems
        try:
            self._call(self.stub.EnrolParticipant, row.request)
            return "enrolled", []
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.ALREADY_EXISTS:
                return self._reconcile(row.request)
            return "rejected", _problems(error)

    def _reconcile(self, request: pb.EnrolParticipantRequest) -> tuple[str, list[Problem]]:
        """Already enrolled: update the profile if the row differs from it."""
        for _attempt in range(3):
            existing = self._call(
                self.stub.FindParticipant,
                pb.FindParticipantRequest(
                    programme_id=self.programme_id, employee_id=request.employee_id
                ),
            )
            if existing.role != request.role:
                was = ROLE_NAMES.get(existing.role, "another role")
                return "rejected", [
                    (
                        "role",
                        f"{request.employee_id} is enrolled as {was} and a participant's role "
                        f"cannot change; put {was} in this row or remove the row",
                    )
                ]
            if existing.profile == request.profile:
                return "unchanged", []
            try:
                updated = self._call(
                    self.stub.UpdateProfile,
                    pb.UpdateProfileRequest(
                        participant_id=existing.participant_id,
                        profile=request.profile,
                        expected_version=existing.version,
                    ),
                )
                # the service records nothing when the profiles are equal after all
                return ("updated" if updated.version > existing.version else "unchanged"), []
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.ABORTED:  # type: ignore[attr-defined]
                    return "rejected", _problems(error)
        return "rejected", [("row", "changed by someone else meanwhile three times; re-run")]


def _problems(error: grpc.RpcError) -> list[Problem]:
    violations = field_violations(error)
    if violations:
        return [column_problem(f, d) for f, d in violations]
    return [("row", error.details() or str(error.code()))]  # type: ignore[attr-defined]


def import_rows(
    importer: Importer,
    rows: Sequence[Row],
    report: Callable[[str], None],
    progress: Progress | None = None,
) -> Result:
    result = Result()
    for done, row in enumerate(rows, start=1):
        outcome, problems = importer.apply(row)
        result.counts[outcome] += 1
        if outcome == "rejected":
            line = row.report(problems)
            result.rejected.append(line)
            if progress:
                progress.clear()
            report(line)
        if progress:
            progress.update(done, result.summary())
    if progress:
        progress.clear()
    return result


def check_programme(
    stub: Any, programme_id: str, address: str, source: str, auth: Metadata
) -> pb.Programme:
    """The programme, or an error that says what to do about it."""
    try:
        return stub.GetProgramme(
            pb.GetProgrammeRequest(programme_id=programme_id), timeout=CALL_TIMEOUT, metadata=auth
        )
    except grpc.RpcError as error:
        code = error.code()  # type: ignore[attr-defined]
        if code in REFUSED:
            raise CliError(refused_message(error)) from None
        if code in LOST:
            raise CliError(
                unreachable_message("enrolment", address, source, error.details() or str(code)),  # type: ignore[attr-defined]
                EXIT_UNREACHABLE,
            ) from None
        if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            raise CliError(
                f"programme {programme_id!r} not found at {address}; "
                "`revmentor enrol programmes` lists the programmes and their ids"
            ) from None
        if code == grpc.StatusCode.UNIMPLEMENTED:
            raise CliError(
                f"{address} is not an enrolment service; pass the enrolment address as --target"
            ) from None
        raise CliError(f"GetProgramme failed: {code.name}: {error.details()}") from None  # type: ignore[attr-defined]


def run(file: Path, programme_id: str, target: str | None, token: str | None = None) -> int:
    rows = read_file(file, programme_id)
    address, source = service_target("enrolment", target)
    require_reachable("enrolment", address, source)
    auth = bearer(token, "revmentor-cli:enrol-import")
    with secure_channel(address) as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        programme = check_programme(stub, programme_id, address, source, auth)
        if programme.status != pb.PROGRAMME_STATUS_ENROLMENT_OPEN:
            emit(
                f"note: programme {programme.name!r} is "
                f"{STATUS_NAMES.get(programme.status, 'not open')}: new participants will be "
                "rejected until enrolment is opened; enrolled ones can still be updated",
                sys.stderr,
            )
        emit(f"importing {len(rows)} row(s) from {file} into {programme.name!r} at {address}")
        importer = Importer(stub, programme_id, auth)
        try:
            result = import_rows(importer, rows, emit, Progress("import", len(rows), "rows"))
        except ConnectionLost as error:
            raise CliError(
                f"lost the enrolment service at {address} ({error}); nothing is half-written. "
                "Start it again (`make run`) and re-run the same command: "
                "rows already enrolled are skipped",
                EXIT_UNREACHABLE,
            ) from None
    emit(f"{file}: {len(rows)} row(s): {result.summary()}")
    if result.counts["rejected"]:
        emit(
            f"{result.counts['rejected']} row(s) rejected: fix the rows above and re-run: "
            "rows already enrolled are skipped"
        )
        return EXIT_FAILED
    return EXIT_OK


def list_programmes(target: str | None, token: str | None = None) -> int:
    """``revmentor enrol programmes``: id, status and head-count of every programme."""
    address, source = service_target("enrolment", target)
    require_reachable("enrolment", address, source)
    auth = bearer(token, "revmentor-cli:enrol-programmes")
    with secure_channel(address) as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        token, shown = "", 0
        while True:
            try:
                reply = stub.ListProgrammes(
                    pb.ListProgrammesRequest(page_size=500, page_token=token),
                    timeout=CALL_TIMEOUT,
                    metadata=auth,
                )
            except grpc.RpcError as error:
                code = error.code()  # type: ignore[attr-defined]
                if code in REFUSED:
                    raise CliError(refused_message(error)) from None
                raise CliError(
                    unreachable_message("enrolment", address, source, error.details() or code.name),  # type: ignore[attr-defined]
                    EXIT_UNREACHABLE if code in LOST else EXIT_FAILED,
                ) from None
            for p in reply.programmes:
                emit(
                    f"{p.programme_id}  {STATUS_NAMES.get(p.status, '?'):<20}  "
                    f"{p.mentor_count:>3} mentors {p.mentee_count:>3} mentees  {p.name}"
                )
                shown += 1
            token = reply.next_page_token
            if not token:
                break
    if not shown:
        emit(f"no programmes at {address} yet (`revmentor up` seeds a demo programme)")
    return EXIT_OK
