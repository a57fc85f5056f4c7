"""Authorisation in enrolment: the role table, enforced, and the object-level rules.

The role matrix is generated from :data:`access.POLICY` (every RPC x every
role), and checked against hand-written expectations too, so a wrong table
cannot pass by agreeing with itself. Object-level tests show that a person
only reaches their own participant and a programme manager only their
programmes, and that everything else looks like it does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from support import DevIssuer

from revmentor.enrolment.access import POLICY
from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import MENTEE, MENTOR, Consent
from revmentor.enrolment.domain.programme import ProgrammeRules
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.auth import ROLES
from revmentor.kernel.grpc_server import GrpcServer

Stub = pb_grpc.EnrolmentServiceStub
METHODS = [m.name for m in pb.DESCRIPTOR.services_by_name["EnrolmentService"].methods]
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
NOT_FOUND = grpc.StatusCode.NOT_FOUND
#: Destructive calls last, so the matrix's earlier calls still find their objects.
ORDER = sorted(METHODS, key=lambda m: m in ("WithdrawParticipant", "EraseParticipant"))


@dataclass
class World:
    """Two programmes; a mentor and two mentees in P1, one mentee in P2."""

    p1: str
    p2: str
    mentor: str
    mentee_a: str
    mentee_b: str
    mentee_p2: str


@pytest.fixture
def world(enrolment_app: EnrolmentApplication, build: SimpleNamespace, consent: Consent) -> World:
    app = enrolment_app

    def programme() -> str:
        made = app.create_programme(
            "P", "", "2025-01-01", "2025-12-31", build.topics, ProgrammeRules()
        )
        app.open_enrolment(str(made.id))
        return str(made.id)

    def enrol(programme_id: str, employee_id: str, role: str) -> str:
        return str(app.enrol(programme_id, employee_id, role, build.profile(role), consent).id)

    p1, p2 = programme(), programme()
    return World(
        p1=p1,
        p2=p2,
        mentor=enrol(p1, "E-MENTOR", MENTOR),
        mentee_a=enrol(p1, "E-A", MENTEE),
        mentee_b=enrol(p1, "E-B", MENTEE),
        mentee_p2=enrol(p2, "E-P2", MENTEE),
    )


def token_claims(role: str, world: World) -> dict[str, Any]:
    """A realistic principal for ``role``: people are participants, managers manage P1."""
    return {
        "admin": {"sub": "root"},
        "programme_manager": {"sub": "pm-1", "programmes": [world.p1]},
        "mentor": {"sub": "u-mentor", "employee_id": "E-MENTOR"},
        "mentee": {"sub": "u-a", "employee_id": "E-A"},
        "auditor": {"sub": "audit-1"},
        "service": {"sub": "svc-matching", "service": "matching"},
    }[role]


def own_participant(role: str, world: World) -> str:
    return world.mentor if role == "mentor" else world.mentee_a


def request_for(rpc: str, role: str, world: World, build: SimpleNamespace) -> Any:
    """A request the role could sensibly make, about its own objects."""
    mine = own_participant(role, world)
    enrolling = ("E-MENTOR", pb.ROLE_MENTOR) if role == "mentor" else ("E-A", pb.ROLE_MENTEE)
    if role in ("admin", "programme_manager"):
        enrolling = ("E-NEW", pb.ROLE_MENTEE)
    requests: dict[str, Any] = {
        "CreateProgramme": build.programme(),
        "GetProgramme": pb.GetProgrammeRequest(programme_id=world.p1),
        "ListProgrammes": pb.ListProgrammesRequest(),
        "OpenEnrolment": pb.ProgrammeCommand(programme_id=world.p1),
        "CloseEnrolment": pb.ProgrammeCommand(programme_id=world.p1),
        "LaunchProgramme": pb.ProgrammeCommand(programme_id=world.p1),
        "CloseProgramme": pb.ProgrammeCommand(programme_id=world.p1),
        "EnrolParticipant": build.enrol(world.p1, *enrolling),
        "UpdateProfile": pb.UpdateProfileRequest(
            participant_id=mine, profile=build.pb_profile(pb.ROLE_MENTEE)
        ),
        "WithdrawParticipant": pb.WithdrawParticipantRequest(
            participant_id=mine, reason=pb.WITHDRAWAL_REASON_OTHER, note="moving on"
        ),
        "GetParticipant": pb.GetParticipantRequest(participant_id=mine),
        "FindParticipant": pb.FindParticipantRequest(programme_id=world.p1, employee_id="E-A"),
        "ListParticipants": pb.ListParticipantsRequest(programme_id=world.p1),
        "GetMatchingAttributes": pb.GetMatchingAttributesRequest(participant_ids=[mine]),
        "EraseParticipant": pb.EraseParticipantRequest(participant_id=mine, reason="GDPR 1"),
        "ExportParticipantData": pb.ExportParticipantDataRequest(participant_id=mine),
    }
    return requests[rpc]


async def status_of(stub: Stub, rpc: str, request: Any, metadata: Any) -> grpc.StatusCode:
    try:
        await getattr(stub, rpc)(request, metadata=metadata, timeout=10)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def outcome(code: grpc.StatusCode) -> str:
    return code.name if code in REFUSED else "allowed"


# -- the table ------------------------------------------------------------------------------
def test_every_rpc_of_the_service_has_a_rule_and_every_rule_an_rpc() -> None:
    assert set(POLICY) == set(METHODS), "deny by default: add the new RPC to access.POLICY"
    assert all(roles <= ROLES for roles in POLICY.values())


def test_the_table_says_what_the_design_says() -> None:
    """Hand-written, independent of the table's own wording."""
    allowed = {rpc for rpc, roles in POLICY.items() if "auditor" in roles}
    assert allowed == {
        "GetProgramme",
        "ListProgrammes",
        "GetParticipant",
        "FindParticipant",
        "ListParticipants",
        "ExportParticipantData",
    }
    for person in ("mentor", "mentee"):
        for rpc in (
            "ListParticipants",
            "CreateProgramme",
            "OpenEnrolment",
            "GetMatchingAttributes",
        ):
            assert person not in POLICY[rpc], (person, rpc)
        assert person in POLICY["UpdateProfile"] and person in POLICY["ExportParticipantData"]
    assert POLICY["EraseParticipant"] == {"admin", "programme_manager"}
    assert POLICY["GetMatchingAttributes"] == {"admin", "service"}
    assert all("admin" in roles for roles in POLICY.values())
    service_calls = {rpc for rpc, roles in POLICY.items() if "service" in roles}
    assert service_calls == {
        "GetProgramme",
        "ListProgrammes",
        "GetParticipant",
        "FindParticipant",
        "ListParticipants",
        "GetMatchingAttributes",
    }


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_every_rpc_for_every_role_is_allowed_or_denied_as_the_table_says(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace, role: str
) -> None:
    metadata = issuer.metadata(role, **token_claims(role, world))
    seen, expected = {}, {}
    for rpc in ORDER:
        code = await status_of(stub, rpc, request_for(rpc, role, world, build), metadata)
        seen[rpc] = outcome(code)
        expected[rpc] = "allowed" if role in POLICY[rpc] else "PERMISSION_DENIED"
    assert seen == expected


HAND_WRITTEN = [
    ("mentee", "ListParticipants", "PERMISSION_DENIED"),
    ("mentee", "CreateProgramme", "PERMISSION_DENIED"),
    ("mentor", "LaunchProgramme", "PERMISSION_DENIED"),
    ("mentee", "GetMatchingAttributes", "PERMISSION_DENIED"),
    ("mentee", "EraseParticipant", "PERMISSION_DENIED"),
    ("auditor", "UpdateProfile", "PERMISSION_DENIED"),
    ("auditor", "EnrolParticipant", "PERMISSION_DENIED"),
    ("auditor", "CloseProgramme", "PERMISSION_DENIED"),
    ("service", "UpdateProfile", "PERMISSION_DENIED"),
    ("programme_manager", "GetMatchingAttributes", "PERMISSION_DENIED"),
    ("mentee", "GetParticipant", "allowed"),
    ("mentee", "UpdateProfile", "allowed"),
    ("auditor", "ListParticipants", "allowed"),
    ("service", "GetMatchingAttributes", "allowed"),
    ("programme_manager", "CreateProgramme", "allowed"),
    ("programme_manager", "OpenEnrolment", "allowed"),
]


@pytest.mark.parametrize(("role", "rpc", "expected"), HAND_WRITTEN)
async def test_hand_written_expectations(
    stub: Stub,
    issuer: DevIssuer,
    world: World,
    build: SimpleNamespace,
    role: str,
    rpc: str,
    expected: str,
) -> None:
    metadata = issuer.metadata(role, **token_claims(role, world))
    code = await status_of(stub, rpc, request_for(rpc, role, world, build), metadata)
    assert outcome(code) == expected, code


async def test_a_method_missing_from_the_table_is_denied_even_to_admin(
    enrolment_app: EnrolmentApplication, issuer: DevIssuer
) -> None:
    server = GrpcServer("enrolment", "127.0.0.1", 0, 0.5, authenticator=issuer.authenticator())
    partial = {k: v for k, v in POLICY.items() if k != "ListProgrammes"}
    servicer = EnrolmentServicer(enrolment_app)
    server.add(pb_grpc.add_EnrolmentServiceServicer_to_server, servicer, [SERVICE_NAME], partial)
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            code = await status_of(
                Stub(channel), "ListProgrammes", pb.ListProgrammesRequest(), issuer.metadata()
            )
        assert code == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await server.stop()


# -- object level: participants ---------------------------------------------------------------
async def test_a_mentee_reaches_only_their_own_participant(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace
) -> None:
    as_a = issuer.metadata("mentee", sub="u-a", employee_id="E-A")
    other = world.mentee_b
    profile = build.pb_profile(pb.ROLE_MENTEE)
    attempts = {
        "GetParticipant": pb.GetParticipantRequest(participant_id=other),
        "UpdateProfile": pb.UpdateProfileRequest(participant_id=other, profile=profile),
        "WithdrawParticipant": pb.WithdrawParticipantRequest(
            participant_id=other, reason=pb.WITHDRAWAL_REASON_OTHER, note="x"
        ),
        "FindParticipant": pb.FindParticipantRequest(programme_id=world.p1, employee_id="E-B"),
        "ExportParticipantData": pb.ExportParticipantDataRequest(participant_id=other),
    }
    for rpc, request in attempts.items():
        assert await status_of(stub, rpc, request, as_a) == NOT_FOUND, rpc
    mine = await stub.GetParticipant(
        pb.GetParticipantRequest(participant_id=world.mentee_a), metadata=as_a
    )
    assert mine.employee_id == "E-A"
    updated = await stub.UpdateProfile(
        pb.UpdateProfileRequest(participant_id=world.mentee_a, profile=profile), metadata=as_a
    )
    assert updated.profile.display_name == profile.display_name
    unchanged = await stub.GetParticipant(pb.GetParticipantRequest(participant_id=other))
    assert unchanged.status == pb.PARTICIPANT_STATUS_ENROLLED


async def test_not_yours_and_missing_look_the_same(
    stub: Stub, issuer: DevIssuer, world: World
) -> None:
    as_a = issuer.metadata("mentee", sub="u-a", employee_id="E-A")
    answers = []
    for pid in (world.mentee_b, "5b0c1c52-2f4e-4f0b-9d55-8a3c3b0f6e11"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetParticipant(pb.GetParticipantRequest(participant_id=pid), metadata=as_a)
        answers.append((refused.value.code(), (refused.value.details() or "").replace(pid, "ID")))
    assert answers[0] == answers[1]


async def test_people_enrol_only_themselves_in_a_role_they_hold(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace
) -> None:
    as_c = issuer.metadata("mentee", sub="u-c", employee_id="E-C")
    someone_else = build.enrol(world.p1, "E-D", pb.ROLE_MENTEE)
    as_mentor = build.enrol(world.p1, "E-C", pb.ROLE_MENTOR)
    for request in (someone_else, as_mentor):
        code = await status_of(stub, "EnrolParticipant", request, as_c)
        assert code == grpc.StatusCode.PERMISSION_DENIED
    enrolled = await stub.EnrolParticipant(
        build.enrol(world.p1, "E-C", pb.ROLE_MENTEE), metadata=as_c
    )
    assert enrolled.employee_id == "E-C"


# -- object level: programme managers ---------------------------------------------------------
async def test_a_programme_manager_acts_only_in_their_programmes(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace
) -> None:
    pm = issuer.metadata("programme_manager", sub="pm-1", programmes=[world.p1])
    elsewhere = {
        "GetProgramme": pb.GetProgrammeRequest(programme_id=world.p2),
        "CloseEnrolment": pb.ProgrammeCommand(programme_id=world.p2),
        "ListParticipants": pb.ListParticipantsRequest(programme_id=world.p2),
        "EnrolParticipant": build.enrol(world.p2, "E-X", pb.ROLE_MENTEE),
        "GetParticipant": pb.GetParticipantRequest(participant_id=world.mentee_p2),
        "FindParticipant": pb.FindParticipantRequest(programme_id=world.p2, employee_id="E-P2"),
        "WithdrawParticipant": pb.WithdrawParticipantRequest(
            participant_id=world.mentee_p2, reason=pb.WITHDRAWAL_REASON_OTHER, note="x"
        ),
        "EraseParticipant": pb.EraseParticipantRequest(participant_id=world.mentee_p2, reason="r"),
        "ExportParticipantData": pb.ExportParticipantDataRequest(participant_id=world.mentee_p2),
    }
    for rpc, request in elsewhere.items():
        assert await status_of(stub, rpc, request, pm) == NOT_FOUND, rpc

    listed = await stub.ListParticipants(
        pb.ListParticipantsRequest(programme_id=world.p1), metadata=pm
    )
    assert listed.total_size == 3
    closed = await stub.CloseEnrolment(pb.ProgrammeCommand(programme_id=world.p1), metadata=pm)
    assert closed.status == pb.PROGRAMME_STATUS_ENROLMENT_CLOSED
    programmes = await stub.ListProgrammes(pb.ListProgrammesRequest(), metadata=pm)
    assert [p.programme_id for p in programmes.programmes] == [world.p1]
    assert programmes.total_size == 1


async def test_the_auditor_reads_everything_and_changes_nothing(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace
) -> None:
    auditor = issuer.metadata("auditor", sub="audit-1")
    for programme_id in (world.p1, world.p2):
        listed = await stub.ListParticipants(
            pb.ListParticipantsRequest(programme_id=programme_id), metadata=auditor
        )
        assert listed.total_size
    writes = {
        "UpdateProfile": pb.UpdateProfileRequest(
            participant_id=world.mentee_a, profile=build.pb_profile(pb.ROLE_MENTEE)
        ),
        "WithdrawParticipant": pb.WithdrawParticipantRequest(participant_id=world.mentee_a),
        "OpenEnrolment": pb.ProgrammeCommand(programme_id=world.p1),
        "EraseParticipant": pb.EraseParticipantRequest(participant_id=world.mentee_a, reason="r"),
    }
    for rpc, request in writes.items():
        assert await status_of(stub, rpc, request, auditor) == grpc.StatusCode.PERMISSION_DENIED


async def test_a_second_role_does_not_widen_the_first(
    stub: Stub, issuer: DevIssuer, world: World, build: SimpleNamespace
) -> None:
    """An auditor who is also mentee A may update A, not B (auditing grants no writes)."""
    both = issuer.metadata(["auditor", "mentee"], sub="u-a", employee_id="E-A")
    profile = build.pb_profile(pb.ROLE_MENTEE)
    code = await status_of(
        stub,
        "UpdateProfile",
        pb.UpdateProfileRequest(participant_id=world.mentee_b, profile=profile),
        both,
    )
    assert code == NOT_FOUND
    await stub.GetParticipant(
        pb.GetParticipantRequest(participant_id=world.mentee_b), metadata=both
    )


# -- GDPR calls --------------------------------------------------------------------------------
async def test_erasure_by_the_programme_manager_returns_a_receipt(
    stub: Stub, issuer: DevIssuer, world: World
) -> None:
    pm = issuer.metadata("programme_manager", sub="pm-1", programmes=[world.p1])
    before = await stub.GetParticipant(pb.GetParticipantRequest(participant_id=world.mentee_b))
    receipt = await stub.EraseParticipant(
        pb.EraseParticipantRequest(participant_id=world.mentee_b, reason="GDPR request 42"),
        metadata=pm,
    )
    assert receipt.participant_id == world.mentee_b
    assert receipt.version > before.version
    assert receipt.erased_at.endswith("Z") and receipt.erased_at[:4].isdigit()


async def test_export_for_the_participant_themself_the_manager_and_the_auditor(
    stub: Stub, issuer: DevIssuer, world: World
) -> None:
    callers = [
        issuer.metadata("mentee", sub="u-a", employee_id="E-A"),
        issuer.metadata("programme_manager", sub="pm-1", programmes=[world.p1]),
        issuer.metadata("auditor", sub="audit-1"),
    ]
    for metadata in callers:
        export = await stub.ExportParticipantData(
            pb.ExportParticipantDataRequest(participant_id=world.mentee_a), metadata=metadata
        )
        assert (export.participant_id, export.service) == (world.mentee_a, "enrolment")
        assert export.exported_at.endswith("Z")
        document = json.loads(export.document_json)
        assert document["participant_id"] == world.mentee_a
