"""Inputs the RPC fuzzer (tests/reliability/test_fuzz_rpcs.py) found answered
badly, each pinned to the answer it must get instead."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
from support import DevIssuer, invalid, refused

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.programme import ProgrammeRules
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.errors import MAX_ECHO


async def test_a_manager_enrolling_into_a_malformed_programme_id_is_told_the_rule(
    stub: pb_grpc.EnrolmentServiceStub,
    enrolment_app: EnrolmentApplication,
    open_programme_id: str,
    issuer: DevIssuer,
    build: SimpleNamespace,
) -> None:
    """10,000 emoji as the programme id, from a manager of another programme:
    the access rule's NOT_FOUND quoted the whole id, 12 KB percent-encoded in
    the trailers, past the clients' limit (the client saw RESOURCE_EXHAUSTED).
    The id's shape is checked first, and only a cut quote of it comes back."""
    manager = issuer.metadata("programme_manager", sub="pm-9", programmes=[open_programme_id])
    request = build.enrol("\U0001f600" * 10_000, "E-9", pb.ROLE_MENTEE)
    [(_, description)] = await invalid(
        enrolment_app, stub.EnrolParticipant, request, ["programme_id"], metadata=manager
    )
    assert "must be a UUID" in description and len(description) < 2 * MAX_ECHO


async def test_a_manager_of_another_programme_still_gets_not_found(
    stub: pb_grpc.EnrolmentServiceStub,
    enrolment_app: EnrolmentApplication,
    open_programme_id: str,
    issuer: DevIssuer,
    build: SimpleNamespace,
) -> None:
    """The id is read as a UUID before the access rule, so the refusal quotes
    its canonical form (what the rule compares with the token's claim)."""
    elsewhere = enrolment_app.create_programme(
        "Elsewhere", "", "2025-01-01", "2025-12-31", build.topics, ProgrammeRules()
    )
    manager = issuer.metadata("programme_manager", sub="pm-9", programmes=[open_programme_id])
    request = build.enrol(str(elsewhere.id).upper(), "E-9", pb.ROLE_MENTEE)
    error = await refused(
        enrolment_app, grpc.StatusCode.NOT_FOUND, stub.EnrolParticipant, request, metadata=manager
    )
    assert str(elsewhere.id) in (error.details() or "")
