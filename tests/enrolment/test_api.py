"""The enrolment gRPC API end to end: a real grpc.aio server over SQLite and PostgreSQL.

Every refusal is checked for its status code, for the fields it names
(``google.rpc.BadRequest``) and for leaving the store exactly as it was.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from support import invalid, refused, stored

from revmentor.enrolment.api import SERVICE_NAME
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import MENTOR, Consent
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.attributes import attributes_dict
from revmentor.kernel.errors import MAX_ECHO, ConcurrencyConflict
from revmentor.kernel.grpc_server import field_violations

Code = grpc.StatusCode
Stub = pb_grpc.EnrolmentServiceStub
DOMAIN_CODES = {
    Code.INVALID_ARGUMENT,
    Code.NOT_FOUND,
    Code.FAILED_PRECONDITION,
    Code.ALREADY_EXISTS,
    Code.ABORTED,
}


async def enrol_all(stub: Stub, build: SimpleNamespace, programme_id: str) -> SimpleNamespace:
    """One mentor and four mentees with different sites and needs."""
    need = pb.LearningNeed
    mentor = await stub.EnrolParticipant(build.enrol(programme_id, "E-100", pb.ROLE_MENTOR))
    mentees = [
        await stub.EnrolParticipant(build.enrol(programme_id, "E-200", pb.ROLE_MENTEE)),
        await stub.EnrolParticipant(
            build.enrol(
                programme_id,
                "E-201",
                pb.ROLE_MENTEE,
                site="Nice",
                learning_needs=[need(topic="social-media", priority=2)],
            )
        ),
        await stub.EnrolParticipant(
            build.enrol(
                programme_id,
                "E-202",
                pb.ROLE_MENTEE,
                learning_needs=[need(topic="data-privacy", priority=1)],
            )
        ),
        await stub.EnrolParticipant(
            build.enrol(programme_id, "E-203", pb.ROLE_MENTEE, site="Nice")
        ),
    ]
    return SimpleNamespace(mentor=mentor, mentees=mentees, all=[mentor, *mentees])


@pytest.fixture
async def programme(stub: Stub, build: SimpleNamespace) -> pb.Programme:
    """A programme with enrolment open."""
    created = await stub.CreateProgramme(build.programme())
    return await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=created.programme_id))


@pytest.fixture
async def mentor(stub: Stub, build: SimpleNamespace, programme: pb.Programme) -> pb.Participant:
    return await stub.EnrolParticipant(build.enrol(programme.programme_id, "E-100", pb.ROLE_MENTOR))


async def ids(stub: Stub, request: pb.ListParticipantsRequest) -> list[str]:
    response = await stub.ListParticipants(request)
    return [p.participant_id for p in response.participants]


# -- happy paths -----------------------------------------------------------------------------------
async def test_programme_lifecycle(stub: Stub, build: SimpleNamespace) -> None:
    created = await stub.CreateProgramme(build.programme(name="  Pilot 2025  "))
    assert created.programme_id
    assert (created.name, created.status, created.version) == (
        "Pilot 2025",
        pb.PROGRAMME_STATUS_DRAFT,
        1,
    )
    assert [t.code for t in created.topics] == ["generative-ai", "social-media", "data-privacy"]
    assert created.rules == pb.ProgrammeRules(
        min_age_gap_years=10,
        mentor_capacity=2,
        planned_sessions=6,
        session_minutes=90,
        same_department_allowed=False,
    )
    assert all(created.rules.HasField(f) for f in ("min_age_gap_years", "same_department_allowed"))
    assert await stub.GetProgramme(pb.GetProgrammeRequest(programme_id=created.programme_id)) == (
        created
    )

    command = pb.ProgrammeCommand(programme_id=created.programme_id)
    steps = [
        (stub.OpenEnrolment, pb.PROGRAMME_STATUS_ENROLMENT_OPEN),
        (stub.CloseEnrolment, pb.PROGRAMME_STATUS_ENROLMENT_CLOSED),
        (stub.OpenEnrolment, pb.PROGRAMME_STATUS_ENROLMENT_OPEN),
        (stub.CloseEnrolment, pb.PROGRAMME_STATUS_ENROLMENT_CLOSED),
        (stub.LaunchProgramme, pb.PROGRAMME_STATUS_LAUNCHED),
        (stub.CloseProgramme, pb.PROGRAMME_STATUS_CLOSED),
    ]
    for version, (rpc, status) in enumerate(steps, start=2):
        command.expected_version = version - 1
        changed = await rpc(command)
        assert (changed.status, changed.version) == (status, version)
        fetched = await stub.GetProgramme(pb.GetProgrammeRequest(programme_id=changed.programme_id))
        assert fetched == changed


async def test_list_programmes_pages_and_filters(stub: Stub, build: SimpleNamespace) -> None:
    created = [await stub.CreateProgramme(build.programme(name=f"P{i}")) for i in range(5)]
    for p in created[:2]:
        await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=p.programme_id))
    await stub.CloseProgramme(pb.ProgrammeCommand(programme_id=created[4].programme_id))

    seen, token, pages = [], "", 0
    while True:
        response = await stub.ListProgrammes(
            pb.ListProgrammesRequest(page_size=2, page_token=token)
        )
        assert response.total_size == 5
        seen += [p.programme_id for p in response.programmes]
        pages += 1
        token = response.next_page_token
        if not token:
            break
    assert pages == 3
    assert seen == [p.programme_id for p in created]

    async def names(status: int) -> list[str]:
        response = await stub.ListProgrammes(pb.ListProgrammesRequest(status=status))
        assert response.next_page_token == ""
        return [p.name for p in response.programmes]

    assert await names(pb.PROGRAMME_STATUS_ENROLMENT_OPEN) == ["P0", "P1"]
    assert await names(pb.PROGRAMME_STATUS_DRAFT) == ["P2", "P3"]
    assert await names(pb.PROGRAMME_STATUS_CLOSED) == ["P4"]
    assert await names(pb.PROGRAMME_STATUS_LAUNCHED) == []
    assert await names(pb.PROGRAMME_STATUS_UNSPECIFIED) == ["P0", "P1", "P2", "P3", "P4"]
    listed = await stub.ListProgrammes(pb.ListProgrammesRequest(status=pb.PROGRAMME_STATUS_CLOSED))
    assert listed.programmes[0] == await stub.GetProgramme(
        pb.GetProgrammeRequest(programme_id=created[4].programme_id)
    )


async def test_enrol_get_find_update_withdraw(
    stub: Stub, build: SimpleNamespace, programme: pb.Programme
) -> None:
    pid = programme.programme_id
    sent = build.enrol(pid, "E-100", pb.ROLE_MENTOR)
    mentor = await stub.EnrolParticipant(sent)
    assert mentor.participant_id and mentor.programme_id == pid
    assert (mentor.employee_id, mentor.role, mentor.status, mentor.version) == (
        "E-100",
        pb.ROLE_MENTOR,
        pb.PARTICIPANT_STATUS_ENROLLED,
        1,
    )
    assert mentor.profile == sent.profile
    assert mentor.consent.given and mentor.consent.notice_version == "2025-01"
    assert mentor.consent.given_at, "the server stamps consent time when none is sent"
    assert mentor.enrolled_at

    mentee = await stub.EnrolParticipant(build.enrol(pid, "E-200", pb.ROLE_MENTEE))
    counts = await stub.GetProgramme(pb.GetProgrammeRequest(programme_id=pid))
    assert (counts.mentor_count, counts.mentee_count, counts.version) == (1, 1, 2)

    get = pb.GetParticipantRequest
    assert await stub.GetParticipant(get(participant_id=mentor.participant_id)) == mentor
    found = await stub.FindParticipant(
        pb.FindParticipantRequest(programme_id=pid, employee_id="E-200")
    )
    assert found == mentee

    new_profile = build.pb_profile(pb.ROLE_MENTEE, site="Nice", department="Legal")
    updated = await stub.UpdateProfile(
        pb.UpdateProfileRequest(
            participant_id=mentee.participant_id, profile=new_profile, expected_version=1
        )
    )
    assert (updated.version, updated.profile) == (2, new_profile)
    assert await stub.GetParticipant(get(participant_id=mentee.participant_id)) == updated

    same = await stub.UpdateProfile(
        pb.UpdateProfileRequest(participant_id=mentee.participant_id, profile=new_profile)
    )
    assert same.version == 2, "an unchanged profile records nothing"

    withdrawn = await stub.WithdrawParticipant(
        pb.WithdrawParticipantRequest(
            participant_id=mentee.participant_id,
            reason=pb.WITHDRAWAL_REASON_WORKLOAD,
            note="quarter-end",
            expected_version=2,
        )
    )
    assert (withdrawn.status, withdrawn.withdrawal_reason, withdrawn.version) == (
        pb.PARTICIPANT_STATUS_WITHDRAWN,
        pb.WITHDRAWAL_REASON_WORKLOAD,
        3,
    )
    assert await stub.GetParticipant(get(participant_id=mentee.participant_id)) == withdrawn
    counts = await stub.GetProgramme(pb.GetProgrammeRequest(programme_id=pid))
    assert (counts.mentor_count, counts.mentee_count) == (1, 0)


async def test_list_participants_pages_and_filters(
    stub: Stub, build: SimpleNamespace, programme: pb.Programme
) -> None:
    pid = programme.programme_id
    people = await enrol_all(stub, build, pid)
    every = [p.participant_id for p in people.all]
    request = pb.ListParticipantsRequest

    seen, token, tokens = [], "", []
    while True:
        response = await stub.ListParticipants(
            request(programme_id=pid, page_size=2, page_token=token)
        )
        assert response.total_size == 5
        assert len(response.participants) <= 2
        seen += [p.participant_id for p in response.participants]
        token = response.next_page_token
        tokens.append(token)
        if not token:
            break
    assert seen == every
    assert len(tokens) == 3 and tokens[-1] == "" and all(tokens[:-1])

    listed = await stub.ListParticipants(request(programme_id=pid))
    assert list(listed.participants) == people.all

    mentor_id = people.mentor.participant_id
    m = [p.participant_id for p in people.mentees]
    assert await ids(stub, request(programme_id=pid, role=pb.ROLE_MENTOR)) == [mentor_id]
    assert await ids(stub, request(programme_id=pid, role=pb.ROLE_MENTEE)) == m
    assert await ids(stub, request(programme_id=pid, topic="social-media")) == [mentor_id, m[1]]
    assert await ids(stub, request(programme_id=pid, topic="data-privacy")) == [m[2]]
    assert await ids(stub, request(programme_id=pid, topic="low-code")) == []
    assert await ids(stub, request(programme_id=pid, site="Nice")) == [m[1], m[3]]
    assert await ids(stub, request(programme_id=pid, site="Nice", role=pb.ROLE_MENTEE)) == [
        m[1],
        m[3],
    ]
    withdrawn_filter = request(programme_id=pid, status=pb.PARTICIPANT_STATUS_WITHDRAWN)
    assert await ids(stub, withdrawn_filter) == []

    await stub.WithdrawParticipant(
        pb.WithdrawParticipantRequest(participant_id=m[3], reason=pb.WITHDRAWAL_REASON_OTHER)
    )
    await stub.UpdateProfile(
        pb.UpdateProfileRequest(
            participant_id=m[0], profile=build.pb_profile(pb.ROLE_MENTEE, site="Nice")
        )
    )
    assert await ids(stub, withdrawn_filter) == [m[3]]
    enrolled = request(programme_id=pid, status=pb.PARTICIPANT_STATUS_ENROLLED)
    assert await ids(stub, enrolled) == [mentor_id, m[0], m[1], m[2]]
    assert await ids(stub, request(programme_id=pid, site="Nice")) == [m[0], m[1], m[3]]

    other = await stub.CreateProgramme(build.programme())
    assert await ids(stub, request(programme_id=other.programme_id)) == []


async def test_get_matching_attributes(
    stub: Stub, build: SimpleNamespace, programme: pb.Programme
) -> None:
    people = await enrol_all(stub, build, programme.programme_id)
    wanted = [people.mentees[1], people.mentor]
    await stub.WithdrawParticipant(
        pb.WithdrawParticipantRequest(
            participant_id=people.mentor.participant_id, reason=pb.WITHDRAWAL_REASON_PERSONAL
        )
    )
    response = await stub.GetMatchingAttributes(
        pb.GetMatchingAttributesRequest(participant_ids=[p.participant_id for p in wanted])
    )
    assert [a.participant_id for a in response.attributes] == [p.participant_id for p in wanted]
    for attributes, participant in zip(response.attributes, wanted, strict=True):
        profile = participant.profile
        assert attributes.programme_id == programme.programme_id
        assert attributes.role == participant.role
        assert attributes.employee_id == participant.employee_id
        assert (attributes.manager_employee_id, attributes.department) == (
            profile.manager_employee_id,
            profile.department,
        )
        assert (attributes.site, attributes.time_zone, attributes.birth_year) == (
            profile.site,
            profile.time_zone,
            profile.birth_year,
        )
        assert list(attributes.languages) == list(profile.languages)
        assert list(attributes.skills_offered) == list(profile.skills_offered)
        assert list(attributes.learning_needs) == list(profile.learning_needs)
        assert list(attributes.availability) == list(profile.availability)
        assert attributes.meeting_preference == profile.meeting_preference
    assert [a.status for a in response.attributes] == [
        pb.PARTICIPANT_STATUS_ENROLLED,
        pb.PARTICIPANT_STATUS_WITHDRAWN,
    ]


async def test_skill_levels_travel_from_enrolment_to_matching_attributes(
    stub: Stub, build: SimpleNamespace, programme: pb.Programme
) -> None:
    pid = programme.programme_id
    levelled = build.enrol(pid, "E-100", pb.ROLE_MENTOR, skill_levels={"generative-ai": 3})
    mentor = await stub.EnrolParticipant(levelled)
    unlevelled = await stub.EnrolParticipant(build.enrol(pid, "E-101", pb.ROLE_MENTOR))
    mentee = await stub.EnrolParticipant(build.enrol(pid, "E-200", pb.ROLE_MENTEE))
    assert dict(mentor.profile.skill_levels) == {"generative-ai": 3}
    got = await stub.GetParticipant(pb.GetParticipantRequest(participant_id=mentor.participant_id))
    assert dict(got.profile.skill_levels) == {"generative-ai": 3}

    async def levels() -> list[dict[str, int]]:
        wanted = [mentor, unlevelled, mentee]
        response = await stub.GetMatchingAttributes(
            pb.GetMatchingAttributesRequest(participant_ids=[p.participant_id for p in wanted])
        )
        for message in response.attributes:  # as matching and scheduling read them
            assert attributes_dict(message)["skill_levels"] == dict(message.skill_levels)
        return [dict(a.skill_levels) for a in response.attributes]

    assert await levels() == [{"generative-ai": 3}, {}, {}]

    changed = build.pb_profile(pb.ROLE_MENTOR, skill_levels={"social-media": 1})
    updated = await stub.UpdateProfile(
        pb.UpdateProfileRequest(participant_id=mentor.participant_id, profile=changed)
    )
    assert dict(updated.profile.skill_levels) == {"social-media": 1}
    assert updated.version == mentor.version + 1
    assert await levels() == [{"social-media": 1}, {}, {}]


# -- INVALID_ARGUMENT ------------------------------------------------------------------------------
async def test_bad_ids_are_invalid_arguments(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    app = enrolment_app
    for bad in ["", "not-a-uuid", "1234", "' OR 1=1 --"]:
        get_programme = pb.GetProgrammeRequest(programme_id=bad)
        await invalid(app, stub.GetProgramme, get_programme, ["programme_id"])
        command = pb.ProgrammeCommand(programme_id=bad)
        for rpc in (stub.OpenEnrolment, stub.CloseEnrolment, stub.LaunchProgramme):
            await invalid(app, rpc, command, ["programme_id"])
        await invalid(app, stub.CloseProgramme, command, ["programme_id"])
        enrol = build.enrol(bad, "E-9", pb.ROLE_MENTOR)
        await invalid(app, stub.EnrolParticipant, enrol, ["programme_id"])
        find = pb.FindParticipantRequest(programme_id=bad, employee_id="E-100")
        await invalid(app, stub.FindParticipant, find, ["programme_id"])
        listing = pb.ListParticipantsRequest(programme_id=bad)
        await invalid(app, stub.ListParticipants, listing, ["programme_id"])
        get = pb.GetParticipantRequest(participant_id=bad)
        await invalid(app, stub.GetParticipant, get, ["participant_id"])
        update = pb.UpdateProfileRequest(
            participant_id=bad, profile=build.pb_profile(pb.ROLE_MENTOR)
        )
        await invalid(app, stub.UpdateProfile, update, ["participant_id"])
        withdraw = pb.WithdrawParticipantRequest(
            participant_id=bad, reason=pb.WITHDRAWAL_REASON_OTHER
        )
        await invalid(app, stub.WithdrawParticipant, withdraw, ["participant_id"])


async def test_bad_programme_names_every_field(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace
) -> None:
    request = build.programme(
        name="",
        description="d" * 2001,
        start_date="2025-02-30",
        end_date="",
        topics=[pb.Topic(code="AI", title="AI"), pb.Topic(code="ml", title="")],
        rules=pb.ProgrammeRules(mentor_capacity=9, session_minutes=30),
    )
    await invalid(
        enrolment_app,
        stub.CreateProgramme,
        request,
        [
            "name",
            "description",
            "start_date",
            "end_date",
            "topics[0].code",
            "topics[1].title",
            "rules.mentor_capacity",
            "rules.session_minutes",
        ],
    )
    await invalid(enrolment_app, stub.CreateProgramme, build.programme(topics=[]), ["topics"])


async def test_bad_enrolment_names_every_field(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, programme: pb.Programme
) -> None:
    request = build.enrol(
        programme.programme_id,
        "",
        pb.ROLE_MENTEE,
        email="grace",
        birth_year=1900,
        time_zone="Moon/Base",
        languages=["en", "english"],
        learning_needs=[
            pb.LearningNeed(topic="quantum", priority=1),
            pb.LearningNeed(topic="social-media", priority=5),
        ],
        availability=[pb.AvailabilityWindow(weekday=8, start_time="09:00", end_time="10:00")],
        meeting_preference=pb.MEETING_PREFERENCE_UNSPECIFIED,
    )
    request.consent.given = False
    violations = await invalid(
        enrolment_app,
        stub.EnrolParticipant,
        request,
        [
            "employee_id",
            "profile.email",
            "profile.birth_year",
            "profile.time_zone",
            "profile.languages[1]",
            "profile.learning_needs[0].topic",
            "profile.learning_needs[1].priority",
            "profile.availability[0].weekday",
            "profile.meeting_preference",
            "consent.given",
        ],
    )
    assert (
        "'quantum' is not in the programme's topic catalogue"
        in dict(violations)["profile.learning_needs[0].topic"]
    )

    no_role = build.enrol(programme.programme_id, "E-1", pb.ROLE_UNSPECIFIED)
    await invalid(enrolment_app, stub.EnrolParticipant, no_role, ["role"])
    short = build.enrol(
        programme.programme_id,
        "E-1",
        pb.ROLE_MENTOR,
        availability=[pb.AvailabilityWindow(weekday=1, start_time="09:00", end_time="10:00")],
    )  # the programme's sessions last 90 minutes
    await invalid(enrolment_app, stub.EnrolParticipant, short, ["profile.availability"])


async def test_bad_skill_levels_name_every_topic(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    pid = mentor.programme_id
    levels = {"generative-ai": 5, "data-privacy": 2, "social-media": 0}  # data-privacy not offered
    request = build.enrol(pid, "E-101", pb.ROLE_MENTOR, skill_levels=levels)
    violations = await invalid(
        enrolment_app,
        stub.EnrolParticipant,
        request,
        [
            "profile.skill_levels[data-privacy]",
            "profile.skill_levels[generative-ai]",
            "profile.skill_levels[social-media]",
        ],
    )
    assert violations[0][1] == "is not an offered skill"
    assert violations[1][1] == "must be 1 (basics) - 3 (expert)"
    mentee = build.enrol(pid, "E-200", pb.ROLE_MENTEE, skill_levels={"generative-ai": 2})
    await invalid(enrolment_app, stub.EnrolParticipant, mentee, ["profile.skill_levels"])
    update = pb.UpdateProfileRequest(
        participant_id=mentor.participant_id,
        profile=build.pb_profile(pb.ROLE_MENTOR, skill_levels={"generative-ai": 4}),
    )
    fields = ["profile.skill_levels[generative-ai]"]
    await invalid(enrolment_app, stub.UpdateProfile, update, fields)


async def test_bad_profile_update_and_withdrawal_name_their_fields(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    wrong_role = build.pb_profile(
        pb.ROLE_MENTOR, learning_needs=[pb.LearningNeed(topic="social-media", priority=1)]
    )
    update = pb.UpdateProfileRequest(participant_id=mentor.participant_id, profile=wrong_role)
    await invalid(enrolment_app, stub.UpdateProfile, update, ["profile.learning_needs"])
    overlapping = build.pb_profile(
        pb.ROLE_MENTOR,
        availability=[
            pb.AvailabilityWindow(weekday=2, start_time="09:00", end_time="11:00"),
            pb.AvailabilityWindow(weekday=2, start_time="10:00", end_time="12:00"),
        ],
    )
    update = pb.UpdateProfileRequest(participant_id=mentor.participant_id, profile=overlapping)
    await invalid(enrolment_app, stub.UpdateProfile, update, ["profile.availability[1]"])

    withdraw = pb.WithdrawParticipantRequest(
        participant_id=mentor.participant_id,
        reason=pb.WITHDRAWAL_REASON_UNSPECIFIED,
        note="n" * 1001,
    )
    await invalid(enrolment_app, stub.WithdrawParticipant, withdraw, ["reason", "note"])


async def test_bad_paging_is_invalid(
    stub: Stub, enrolment_app: EnrolmentApplication, programme: pb.Programme
) -> None:
    app, pid = enrolment_app, programme.programme_id
    for make, rpc in [
        (lambda **kw: pb.ListProgrammesRequest(**kw), stub.ListProgrammes),
        (lambda **kw: pb.ListParticipantsRequest(programme_id=pid, **kw), stub.ListParticipants),
    ]:
        await invalid(app, rpc, make(page_size=501), ["page_size"])
        await invalid(app, rpc, make(page_size=-1), ["page_size"])
        await invalid(app, rpc, make(page_token="not-a-token"), ["page_token"])
        await invalid(app, rpc, make(page_size=1000, page_token="%%%"), ["page_size", "page_token"])
        assert (await rpc(make(page_size=500))).next_page_token == ""


async def test_matching_attributes_batch_bounds(
    stub: Stub, enrolment_app: EnrolmentApplication, mentor: pb.Participant
) -> None:
    request = pb.GetMatchingAttributesRequest
    await invalid(enrolment_app, stub.GetMatchingAttributes, request(), ["participant_ids"])
    too_many = request(participant_ids=[str(uuid4()) for _ in range(1001)])
    await invalid(enrolment_app, stub.GetMatchingAttributes, too_many, ["participant_ids"])
    one_thousand = [mentor.participant_id] * 1000
    response = await stub.GetMatchingAttributes(request(participant_ids=one_thousand))
    assert len(response.attributes) == 1000


async def test_bad_id_in_a_matching_batch_names_its_index(
    stub: Stub, enrolment_app: EnrolmentApplication, mentor: pb.Participant
) -> None:
    request = pb.GetMatchingAttributesRequest(participant_ids=[mentor.participant_id, "nope"])
    await invalid(enrolment_app, stub.GetMatchingAttributes, request, ["participant_ids[1]"])


# -- NOT_FOUND -------------------------------------------------------------------------------------
async def test_unknown_objects_are_not_found(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    pid, nobody = mentor.programme_id, str(uuid4())
    programme_calls = [
        (stub.GetProgramme, lambda x: pb.GetProgrammeRequest(programme_id=x)),
        (stub.OpenEnrolment, lambda x: pb.ProgrammeCommand(programme_id=x)),
        (stub.CloseEnrolment, lambda x: pb.ProgrammeCommand(programme_id=x)),
        (stub.LaunchProgramme, lambda x: pb.ProgrammeCommand(programme_id=x)),
        (stub.CloseProgramme, lambda x: pb.ProgrammeCommand(programme_id=x)),
        (stub.EnrolParticipant, lambda x: build.enrol(x, "E-1", pb.ROLE_MENTOR)),
        (stub.ListParticipants, lambda x: pb.ListParticipantsRequest(programme_id=x)),
        (
            stub.FindParticipant,
            lambda x: pb.FindParticipantRequest(programme_id=x, employee_id="E-100"),
        ),
    ]
    participant_calls = [
        (stub.GetParticipant, lambda x: pb.GetParticipantRequest(participant_id=x)),
        (
            stub.UpdateProfile,
            lambda x: pb.UpdateProfileRequest(
                participant_id=x, profile=build.pb_profile(pb.ROLE_MENTOR)
            ),
        ),
        (
            stub.WithdrawParticipant,
            lambda x: pb.WithdrawParticipantRequest(
                participant_id=x, reason=pb.WITHDRAWAL_REASON_OTHER
            ),
        ),
        (
            stub.GetMatchingAttributes,
            lambda x: pb.GetMatchingAttributesRequest(participant_ids=[x]),
        ),
    ]
    # An unknown id, and an id of the other kind: a participant is not a programme.
    for rpc, request in programme_calls:
        for programme_id in (nobody, mentor.participant_id):
            await refused(enrolment_app, Code.NOT_FOUND, rpc, request(programme_id))
    for rpc, request in participant_calls:
        for participant_id in (nobody, pid):
            await refused(enrolment_app, Code.NOT_FOUND, rpc, request(participant_id))
    for employee_id in ["E-404", "e-100", ""]:
        find = pb.FindParticipantRequest(programme_id=pid, employee_id=employee_id)
        await refused(enrolment_app, Code.NOT_FOUND, stub.FindParticipant, find)
    batch = pb.GetMatchingAttributesRequest(participant_ids=[mentor.participant_id, nobody])
    await refused(enrolment_app, Code.NOT_FOUND, stub.GetMatchingAttributes, batch)


# -- FAILED_PRECONDITION ---------------------------------------------------------------------------
async def test_enrolment_needs_an_open_programme(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace
) -> None:
    app = enrolment_app
    draft = await stub.CreateProgramme(build.programme())
    command = pb.ProgrammeCommand(programme_id=draft.programme_id)
    enrol = build.enrol(draft.programme_id, "E-1", pb.ROLE_MENTOR)
    await refused(app, Code.FAILED_PRECONDITION, stub.EnrolParticipant, enrol)
    await stub.OpenEnrolment(command)
    await stub.CloseEnrolment(command)
    await refused(app, Code.FAILED_PRECONDITION, stub.EnrolParticipant, enrol)
    await stub.LaunchProgramme(command)
    await refused(app, Code.FAILED_PRECONDITION, stub.EnrolParticipant, enrol)
    await stub.CloseProgramme(command)
    await refused(app, Code.FAILED_PRECONDITION, stub.EnrolParticipant, enrol)


async def test_illegal_programme_transitions_fail_precondition(
    stub: Stub, enrolment_app: EnrolmentApplication, programme: pb.Programme
) -> None:
    app, command = enrolment_app, pb.ProgrammeCommand(programme_id=programme.programme_id)
    error = await refused(app, Code.FAILED_PRECONDITION, stub.LaunchProgramme, command)
    assert "enrolment_open" in (error.details() or "")
    await refused(app, Code.FAILED_PRECONDITION, stub.OpenEnrolment, command)
    await stub.CloseProgramme(command)
    for rpc in (stub.OpenEnrolment, stub.CloseEnrolment, stub.LaunchProgramme, stub.CloseProgramme):
        await refused(app, Code.FAILED_PRECONDITION, rpc, command)


async def test_a_withdrawn_participant_cannot_change(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    await stub.WithdrawParticipant(
        pb.WithdrawParticipantRequest(
            participant_id=mentor.participant_id, reason=pb.WITHDRAWAL_REASON_ROLE_CHANGE
        )
    )
    update = pb.UpdateProfileRequest(
        participant_id=mentor.participant_id, profile=build.pb_profile(pb.ROLE_MENTOR, site="Nice")
    )
    await refused(enrolment_app, Code.FAILED_PRECONDITION, stub.UpdateProfile, update)
    again = pb.WithdrawParticipantRequest(
        participant_id=mentor.participant_id, reason=pb.WITHDRAWAL_REASON_OTHER
    )
    await refused(enrolment_app, Code.FAILED_PRECONDITION, stub.WithdrawParticipant, again)


# -- ALREADY_EXISTS --------------------------------------------------------------------------------
async def test_the_same_employee_cannot_enrol_twice(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    pid = mentor.programme_id
    for role in (pb.ROLE_MENTOR, pb.ROLE_MENTEE):
        twice = build.enrol(pid, "E-100", role)
        await refused(enrolment_app, Code.ALREADY_EXISTS, stub.EnrolParticipant, twice)
    await stub.WithdrawParticipant(
        pb.WithdrawParticipantRequest(
            participant_id=mentor.participant_id, reason=pb.WITHDRAWAL_REASON_OTHER
        )
    )
    again = build.enrol(pid, "E-100", pb.ROLE_MENTOR)
    await refused(enrolment_app, Code.ALREADY_EXISTS, stub.EnrolParticipant, again)
    # ... but the same employee may join another programme.
    other = await stub.CreateProgramme(build.programme())
    await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=other.programme_id))
    elsewhere = await stub.EnrolParticipant(
        build.enrol(other.programme_id, "E-100", pb.ROLE_MENTOR)
    )
    assert elsewhere.participant_id != mentor.participant_id


async def test_a_trailing_newline_does_not_make_another_employee(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    again = build.enrol(mentor.programme_id, "E-100\n", pb.ROLE_MENTEE)
    await invalid(enrolment_app, stub.EnrolParticipant, again, ["employee_id"])
    listed = await stub.ListParticipants(
        pb.ListParticipantsRequest(programme_id=mentor.programme_id)
    )
    assert [p.employee_id for p in listed.participants] == ["E-100"]


async def test_concurrent_enrolments_of_one_employee_admit_exactly_one(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, programme: pb.Programme
) -> None:
    before = stored(enrolment_app)
    request = build.enrol(programme.programme_id, "E-500", pb.ROLE_MENTEE)
    results = await asyncio.gather(
        *(stub.EnrolParticipant(request) for _ in range(4)), return_exceptions=True
    )
    admitted = [r for r in results if isinstance(r, pb.Participant)]
    codes = [r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(admitted) == 1
    assert codes == [Code.ALREADY_EXISTS] * 3
    assert stored(enrolment_app) == before + 2  # Participant.Enrolled + the registration
    listed = await stub.ListParticipants(
        pb.ListParticipantsRequest(programme_id=programme.programme_id)
    )
    assert [p.participant_id for p in listed.participants] == [admitted[0].participant_id]


# -- ABORTED ---------------------------------------------------------------------------------------
async def test_stale_expected_version_is_aborted(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    app = enrolment_app
    command = pb.ProgrammeCommand(programme_id=mentor.programme_id, expected_version=1)
    await refused(app, Code.ABORTED, stub.CloseEnrolment, command)  # it is at version 2
    update = pb.UpdateProfileRequest(
        participant_id=mentor.participant_id,
        profile=build.pb_profile(pb.ROLE_MENTOR, site="Nice"),
        expected_version=2,
    )
    await refused(app, Code.ABORTED, stub.UpdateProfile, update)
    withdraw = pb.WithdrawParticipantRequest(
        participant_id=mentor.participant_id,
        reason=pb.WITHDRAWAL_REASON_OTHER,
        expected_version=7,
    )
    await refused(app, Code.ABORTED, stub.WithdrawParticipant, withdraw)
    command.expected_version = 2
    assert (await stub.CloseEnrolment(command)).version == 3


def saving_together(app: EnrolmentApplication, parties: int) -> threading.Barrier:
    """Make ``parties`` commands reach the store at once, each from the state it loaded."""
    barrier = threading.Barrier(parties, timeout=10)
    real_save = app.save

    def save(*objs: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real_save(*objs, **kwargs)

    app.save = save  # type: ignore[method-assign]
    return barrier


def history(app: EnrolmentApplication, participant_id: str) -> list[str]:
    events = app.repository.event_store.get(UUID(participant_id))
    return [type(e).__name__ for e in events]


async def test_racing_profile_updates_over_grpc_one_wins(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    before = stored(enrolment_app)
    saving_together(enrolment_app, 2)
    requests = [
        pb.UpdateProfileRequest(
            participant_id=mentor.participant_id,
            profile=build.pb_profile(pb.ROLE_MENTOR, site=site),
            expected_version=1,
        )
        for site in ("Nice", "Lille")
    ]
    results = await asyncio.gather(
        *(stub.UpdateProfile(r) for r in requests), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, pb.Participant)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code() == Code.ABORTED, losers[0].details()
    assert stored(enrolment_app) == before + 1
    assert history(enrolment_app, mentor.participant_id) == ["Enrolled", "ProfileUpdated"]
    current = await stub.GetParticipant(
        pb.GetParticipantRequest(participant_id=mentor.participant_id)
    )
    assert current == winners[0] and current.version == 2


def test_racing_update_and_withdraw_one_wins(
    enrolment_app: EnrolmentApplication,
    open_programme_id: str,
    build: SimpleNamespace,
    consent: Consent,
) -> None:
    app = enrolment_app
    participant = app.enrol(open_programme_id, "E-1", MENTOR, build.profile(MENTOR), consent)
    pid = str(participant.id)
    before = stored(app)
    saving_together(app, 2)
    outcome: dict[str, str] = {}

    def attempt(name: str, command: Callable[[], Any]) -> None:
        try:
            command()
            outcome[name] = "won"
        except ConcurrencyConflict:
            outcome[name] = "aborted"
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome[name] = repr(error)

    threads = [
        threading.Thread(
            target=attempt,
            args=("update", lambda: app.update_profile(pid, build.profile(MENTOR, site="Nice"), 1)),
        ),
        threading.Thread(
            target=attempt, args=("withdraw", lambda: app.withdraw(pid, "personal", "", 1))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcome.values()) == ["aborted", "won"], outcome
    assert stored(app) == before + 1
    reloaded = app.participant(pid)
    assert reloaded.version == 2
    if outcome["update"] == "won":
        assert (reloaded.status, reloaded.profile.site) == ("enrolled", "Nice")
    else:
        assert (reloaded.status, reloaded.profile.site) == ("withdrawn", "Paris")
    assert app.rebuild_read_model().digest() == app.views.digest()


# -- envelope, health, reflection ------------------------------------------------------------------
async def test_stored_events_carry_actor_from_token_and_correlation_from_metadata(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, issuer: Any
) -> None:
    app = enrolment_app
    metadata = (
        *issuer.metadata("admin", sub="hr-admin@corp.example"),
        ("x-revmentor-actor", "spoofed"),  # ignored: the actor is the token's subject
        ("x-correlation-id", "corr-42"),
        ("x-causation-id", "cause-7"),
    )
    created = await stub.CreateProgramme(build.programme(), metadata=metadata)
    mark = stored(app)
    await stub.OpenEnrolment(
        pb.ProgrammeCommand(programme_id=created.programme_id),
        metadata=(
            *issuer.metadata("admin", sub="x", service="matching"),
            ("x-correlation-id", "corr-43"),
        ),
    )
    enrolled_at = stored(app)
    await stub.EnrolParticipant(build.enrol(created.programme_id, "E-1", pb.ROLE_MENTOR))

    who_and_why = ("actor", "correlation_id", "causation_id")  # plus traceparent when tracing
    envelopes = [
        {
            key: value
            for key, value in app.envelope_mapper.decode(n)[1].items()
            if key in who_and_why
        }
        for n in app.notifications(0, 10000)
    ]
    assert envelopes[0] == {
        "actor": "hr-admin@corp.example",
        "correlation_id": "corr-42",
        "causation_id": "cause-7",
    }
    opened = envelopes[mark]
    assert (opened["actor"], opened["correlation_id"]) == ("service:matching", "corr-43")
    assert opened["causation_id"] and opened["causation_id"] != "cause-7"
    enrolment = envelopes[enrolled_at:]
    assert len(enrolment) == 2, "participant and registration, in one transaction"
    assert enrolment[0] == enrolment[1]
    assert enrolment[0]["actor"] == "admin-1"  # the fixture channel's default token
    assert enrolment[0]["correlation_id"] == enrolment[0]["causation_id"]
    assert enrolment[0]["correlation_id"] not in ("", "corr-42", "corr-43")


async def test_health_reports_serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE_NAME):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert caught.value.code() == Code.NOT_FOUND


async def test_reflection_lists_the_enrolment_service(channel: grpc.aio.Channel) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME),
    ]
    responses = [r async for r in reflection.ServerReflectionInfo(iter(requests))]
    names = {s.name for s in responses[0].list_services_response.service}
    assert SERVICE_NAME == "revmentor.enrolment.v1.EnrolmentService"
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
    assert responses[1].file_descriptor_response.file_descriptor_proto


# -- garbage in, never INTERNAL --------------------------------------------------------------------
def garbage(pid: str, participant_id: str, build: SimpleNamespace) -> list[tuple[str, Any]]:
    huge = "x" * 200_000
    weird_profile = build.pb_profile(
        pb.ROLE_MENTOR,
        display_name="\x00\x01",
        email="\u202e@\u202e.\u202e",
        birth_year=-(2**31),
        time_zone="../../etc/passwd",
        languages=[""] * 50,
        skills_offered=[huge],
        learning_needs=[pb.LearningNeed(topic="", priority=-7)],
        availability=[pb.AvailabilityWindow(weekday=2**31 - 1, start_time="99:99", end_time="")]
        * 30,
        meeting_preference=42,
        skill_levels={huge: -(2**31), "\x00": 2**31 - 1, "": 2},
    )
    return [
        ("GetProgramme", pb.GetProgrammeRequest(programme_id="\x00" * 16)),
        ("GetProgramme", pb.GetProgrammeRequest(programme_id=huge)),
        ("GetProgramme", pb.GetProgrammeRequest(programme_id="{" + pid + "}")),
        (
            "CreateProgramme",
            pb.CreateProgrammeRequest(
                name="\x00",
                start_date="9999-99-99",
                end_date="0000-00-00",
                topics=[pb.Topic(code="\x00", title="t" * 500)] * 200,
                rules=pb.ProgrammeRules(
                    min_age_gap_years=-(2**31),
                    mentor_capacity=2**31 - 1,
                    planned_sessions=0,
                    session_minutes=-1,
                ),
            ),
        ),
        ("CreateProgramme", pb.CreateProgrammeRequest()),
        ("ListProgrammes", pb.ListProgrammesRequest(page_size=-(2**31), page_token="====")),
        ("ListProgrammes", pb.ListProgrammesRequest(status=99)),
        ("ListProgrammes", pb.ListProgrammesRequest(page_token="bzo5OTk5OTk5OTk5OTk5OTk5OTk=")),
        ("OpenEnrolment", pb.ProgrammeCommand(programme_id=pid, expected_version=-1)),
        ("CloseEnrolment", pb.ProgrammeCommand(programme_id=pid, expected_version=2**63 - 1)),
        ("EnrolParticipant", pb.EnrolParticipantRequest()),
        ("EnrolParticipant", pb.EnrolParticipantRequest(programme_id=pid, role=99)),
        (
            "EnrolParticipant",
            pb.EnrolParticipantRequest(
                programme_id=pid,
                employee_id=huge,
                role=pb.ROLE_MENTOR,
                profile=weird_profile,
                consent=pb.Consent(given=True, notice_version="\x00"),
            ),
        ),
        ("UpdateProfile", pb.UpdateProfileRequest(participant_id=participant_id)),
        (
            "UpdateProfile",
            pb.UpdateProfileRequest(participant_id=participant_id, profile=weird_profile),
        ),
        ("WithdrawParticipant", pb.WithdrawParticipantRequest(participant_id=participant_id)),
        (
            "WithdrawParticipant",
            pb.WithdrawParticipantRequest(participant_id=participant_id, reason=77, note=huge),
        ),
        ("GetParticipant", pb.GetParticipantRequest()),
        ("FindParticipant", pb.FindParticipantRequest(programme_id=pid, employee_id=huge)),
        ("FindParticipant", pb.FindParticipantRequest(programme_id=pid, employee_id="\x00")),
        (
            "ListParticipants",
            pb.ListParticipantsRequest(programme_id=pid, role=42, status=42, topic=huge),
        ),
        ("GetMatchingAttributes", pb.GetMatchingAttributesRequest(participant_ids=[""] * 3)),
        ("GetMatchingAttributes", pb.GetMatchingAttributesRequest(participant_ids=[huge])),
    ]


async def test_garbage_requests_never_get_internal(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    wrong = []
    for i, (method, request) in enumerate(
        garbage(mentor.programme_id, mentor.participant_id, build)
    ):
        try:
            await getattr(stub, method)(request)
        except grpc.aio.AioRpcError as error:
            if error.code() not in DOMAIN_CODES or "Traceback" in (error.details() or ""):
                wrong.append((i, method, error.code(), (error.details() or "")[:120]))
    assert not wrong, "\n".join(map(str, wrong))


async def test_refusals_about_long_values_still_reach_the_client(
    stub: Stub, enrolment_app: EnrolmentApplication, build: SimpleNamespace, mentor: pb.Participant
) -> None:
    # A pasted spreadsheet row, not an attack: 20,000 characters in one field.
    long = "E" * 20_000
    pid = mentor.programme_id
    get = pb.GetProgrammeRequest(programme_id=long)
    await invalid(enrolment_app, stub.GetProgramme, get, ["programme_id"])
    enrol = build.enrol(pid, "E-9", pb.ROLE_MENTOR, skills_offered=["generative-ai", long.lower()])
    await invalid(enrolment_app, stub.EnrolParticipant, enrol, ["profile.skills_offered[1]"])
    levelled = build.enrol(pid, "E-9", pb.ROLE_MENTOR, skill_levels={long.lower(): 2})
    cut = "'" + "e" * (MAX_ECHO - 4) + "..."  # the key is quoted and cut, as values are
    fields = [f"profile.skill_levels[{cut}]"]
    await invalid(enrolment_app, stub.EnrolParticipant, levelled, fields)
    find = pb.FindParticipantRequest(programme_id=pid, employee_id=long)
    await refused(enrolment_app, Code.NOT_FOUND, stub.FindParticipant, find)


@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x08"])
async def test_malformed_messages_are_invalid_arguments_not_internal(
    channel: grpc.aio.Channel, payload: bytes
) -> None:
    call = channel.unary_unary(
        f"/{SERVICE_NAME}/GetProgramme",
        request_serializer=None,
        response_deserializer=pb.Programme.FromString,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(payload)
    assert caught.value.code() == Code.INVALID_ARGUMENT, caught.value.details()


# -- filters, timestamps and versions are input too --------------------------------------------
async def test_unknown_filter_values_are_refused_by_name(
    stub: Stub, enrolment_app: EnrolmentApplication, programme: pb.Programme
) -> None:
    await invalid(
        enrolment_app, stub.ListProgrammes, pb.ListProgrammesRequest(status=99), ["status"]
    )
    await invalid(
        enrolment_app,
        stub.ListParticipants,
        pb.ListParticipantsRequest(programme_id=programme.programme_id, role=7, status=42),
        ["role"],
    )
    await invalid(
        enrolment_app,
        stub.ListParticipants,
        pb.ListParticipantsRequest(programme_id=programme.programme_id, status=42),
        ["status"],
    )


async def test_consent_time_must_be_rfc3339(
    stub: Stub,
    build: SimpleNamespace,
    enrolment_app: EnrolmentApplication,
    programme: pb.Programme,
) -> None:
    request = build.enrol(programme.programme_id, "E-300", pb.ROLE_MENTOR)
    request.consent.given_at = "yesterday"
    await invalid(enrolment_app, stub.EnrolParticipant, request, ["consent.given_at"])
    request.consent.given_at = "2027-01-15T09:30:00+01:00"
    enrolled = await stub.EnrolParticipant(request)
    assert enrolled.consent.given_at == "2027-01-15T09:30:00+01:00"


async def test_negative_expected_version_is_invalid_not_aborted(
    stub: Stub,
    enrolment_app: EnrolmentApplication,
    mentor: pb.Participant,
    programme: pb.Programme,
) -> None:
    await invalid(
        enrolment_app,
        stub.WithdrawParticipant,
        pb.WithdrawParticipantRequest(
            participant_id=mentor.participant_id,
            reason=pb.WITHDRAWAL_REASON_PERSONAL,
            expected_version=-1,
        ),
        ["expected_version"],
    )
    await invalid(
        enrolment_app,
        stub.CloseEnrolment,
        pb.ProgrammeCommand(programme_id=programme.programme_id, expected_version=-3),
        ["expected_version"],
    )


async def test_many_violations_fit_the_trailers_and_say_how_many_more(
    stub: Stub, enrolment_app: EnrolmentApplication
) -> None:
    """Hundreds of long violations still arrive as INVALID_ARGUMENT (8 KiB trailer limit)."""
    topics = [pb.Topic(code=f"Bad Code {i} " + "x" * 60, title="") for i in range(150)]
    request = pb.CreateProgrammeRequest(
        name="", start_date="someday", end_date="never", topics=topics
    )
    error = await refused(enrolment_app, Code.INVALID_ARGUMENT, stub.CreateProgramme, request)
    violations = field_violations(error)
    assert 10 < len(violations) <= 50
    assert violations[0][0] == "name"
    assert violations[-1] == ("request", violations[-1][1])
    assert "more violations not listed" in violations[-1][1]
