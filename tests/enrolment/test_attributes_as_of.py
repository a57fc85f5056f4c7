"""GetMatchingAttributes ``as_of``: a participant's attributes as they were at an instant.

Rebuilt from the participant's stored events, over SQLite and PostgreSQL,
through the real gRPC server: profile changes at known instants (``tick()``
gives clock boundaries without sleeping), then the old values come back for
an instant between changes; before enrolment is NOT_FOUND as an unknown id;
an erased participant is answered as erased whatever the instant; a bad
``as_of`` is INVALID_ARGUMENT naming it; only matching's service token may ask
for a past instant (admins and other services get PERMISSION_DENIED). Without
``as_of`` nothing changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from support import DevIssuer, authed_channel, invalid, refused, tick

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import MENTEE, MENTOR, Consent, LearningNeed
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.attributes import as_of_text, attributes_dict
from revmentor.kernel.errors import NotFound

Stub = pb_grpc.EnrolmentServiceStub
CONSENT = Consent(True, "2025-01")


@pytest.fixture
async def channel(grpc_port: int, issuer: DevIssuer) -> AsyncIterator[Any]:
    """Calls carry matching's service token: the only caller that may ask ``as_of``."""
    token = issuer.token("service", "service:matching", service="matching")
    async with authed_channel(f"127.0.0.1:{grpc_port}", token) as chan:
        yield chan


async def ask(stub: Stub, ids: list[str], as_of: str = "") -> list[dict]:
    reply = await stub.GetMatchingAttributes(
        pb.GetMatchingAttributesRequest(participant_ids=ids, as_of=as_of)
    )
    return [attributes_dict(a) for a in reply.attributes]


async def test_attributes_as_they_were_between_profile_changes(
    stub: Stub, enrolment_app: EnrolmentApplication, open_programme_id: str, build: SimpleNamespace
) -> None:
    app, profile = enrolment_app, build.profile
    before_enrolment = tick()
    mentor = app.enrol(open_programme_id, "E-1", MENTOR, profile(MENTOR), CONSENT)
    pid = str(mentor.id)
    enrolled = tick()
    app.update_profile(
        pid,
        profile(
            MENTOR,
            birth_year=1997,
            department="Sales",
            manager_employee_id="M-2",
            skills_offered=("generative-ai", "social-media"),
        ),
    )
    first_change = tick()
    app.update_profile(pid, profile(MENTOR, birth_year=1997, department="Legal"))
    second_change = tick()

    [then] = await ask(stub, [pid], as_of_text(enrolled))
    assert (then["birth_year"], then["department"], then["manager_employee_id"]) == (
        1998,
        "Engineering",
        "M-1",
    )
    assert then["skills_offered"] == ["generative-ai"] and then["status"] == "enrolled"
    [changed] = await ask(stub, [pid], as_of_text(first_change))
    assert (changed["birth_year"], changed["department"], changed["manager_employee_id"]) == (
        1997,
        "Sales",
        "M-2",
    )
    assert changed["skills_offered"] == ["generative-ai", "social-media"]
    [latest] = await ask(stub, [pid], as_of_text(second_change))
    assert latest == (await ask(stub, [pid]))[0], "after the last change: the same as now"
    assert latest["department"] == "Legal"

    # the same instant written with another offset is the same instant
    paris = enrolled.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert await ask(stub, [pid], paris) == [then]
    # order and repetitions as asked, as without as_of
    assert [a["department"] for a in await ask(stub, [pid, pid], as_of_text(enrolled))] == [
        "Engineering",
        "Engineering",
    ]

    missing = await refused(
        app,
        grpc.StatusCode.NOT_FOUND,
        stub.GetMatchingAttributes,
        pb.GetMatchingAttributesRequest(participant_ids=[pid], as_of=as_of_text(before_enrolment)),
    )
    assert pid in (missing.details() or "")


async def test_withdrawal_and_erasure_as_of_an_instant(
    stub: Stub, enrolment_app: EnrolmentApplication, open_programme_id: str, build: SimpleNamespace
) -> None:
    app = enrolment_app
    mentee = app.enrol(open_programme_id, "E-2", MENTEE, build.profile(MENTEE), CONSENT)
    erased = app.enrol(open_programme_id, "E-3", MENTEE, build.profile(MENTEE), CONSENT)
    ids = [str(mentee.id), str(erased.id)]
    before = tick()
    app.withdraw(ids[0], "workload", "")
    app.erase_participant(ids[1], "asked to be forgotten")

    was = await ask(stub, ids, as_of_text(before))
    assert was[0]["status"] == "enrolled" and was[0]["department"] == "Engineering"
    # an erased participant's past cannot be rebuilt: answered as erased, fields blank
    assert was[1]["status"] == "erased"
    assert (was[1]["department"], was[1]["birth_year"], was[1]["employee_id"]) == ("", 0, "")
    assert was[1]["learning_needs"] == [("generative-ai", 1)], "business facts are kept"
    now = await ask(stub, ids)
    assert [a["status"] for a in now] == ["withdrawn", "erased"]
    assert was[1] == now[1]


async def test_a_bad_as_of_is_an_invalid_argument(
    stub: Stub, enrolment_app: EnrolmentApplication, open_programme_id: str, build: SimpleNamespace
) -> None:
    app = enrolment_app
    pid = str(app.enrol(open_programme_id, "E-4", MENTOR, build.profile(MENTOR), CONSENT).id)
    for bad in ("yesterday", "2027-01-11T09:00:00", "2027-13-01T00:00:00Z", "2027-01-11"):
        request = pb.GetMatchingAttributesRequest(participant_ids=[pid], as_of=bad)
        await invalid(app, stub.GetMatchingAttributes, request, ["as_of"])
    both = pb.GetMatchingAttributesRequest(participant_ids=["nope"], as_of="soon")
    await invalid(app, stub.GetMatchingAttributes, both, ["participant_ids[0]", "as_of"])


async def test_who_may_ask_and_who_may_ask_for_the_past(
    stub: Stub,
    enrolment_app: EnrolmentApplication,
    open_programme_id: str,
    build: SimpleNamespace,
    issuer: DevIssuer,
) -> None:
    app = enrolment_app
    pid = str(app.enrol(open_programme_id, "E-5", MENTOR, build.profile(MENTOR), CONSENT).id)
    request = pb.GetMatchingAttributesRequest(participant_ids=[pid], as_of=as_of_text(tick()))
    for role in ("auditor", "programme_manager", "mentor"):
        metadata = issuer.metadata(role, sub=f"{role}-1", employee_id="E-5")
        await refused(
            app,
            grpc.StatusCode.PERMISSION_DENIED,
            stub.GetMatchingAttributes,
            request,
            metadata=metadata,
        )
    # past values are for re-running a recorded round only: not even an admin or
    # another service (scheduling may ask for the current attributes, not these)
    admin = issuer.metadata("admin", sub="admin-1")
    scheduling = issuer.metadata("service", sub="service:scheduling", service="scheduling")
    for metadata in (admin, scheduling):
        error = await refused(
            app,
            grpc.StatusCode.PERMISSION_DENIED,
            stub.GetMatchingAttributes,
            request,
            metadata=metadata,
        )
        assert "as_of is for the matching service only" in (error.details() or "")
        now = pb.GetMatchingAttributesRequest(participant_ids=[pid])
        assert (await stub.GetMatchingAttributes(now, metadata=metadata)).attributes
    as_service = issuer.metadata("service", sub="service:matching", service="matching")
    reply = await stub.GetMatchingAttributes(request, metadata=as_service)
    assert [a.participant_id for a in reply.attributes] == [pid]


def test_the_application_rebuilds_without_the_api(
    enrolment_app: EnrolmentApplication, open_programme_id: str, build: SimpleNamespace
) -> None:
    app = enrolment_app
    need = (LearningNeed("generative-ai", 1),)
    mentee = app.enrol(open_programme_id, "E-6", MENTEE, build.profile(MENTEE), CONSENT)
    pid = str(mentee.id)
    then = tick()
    app.update_profile(pid, build.profile(MENTEE, site="Lyon", learning_needs=need))
    [old] = app.participants_for_matching([pid], as_of_text(then))
    [new] = app.participants_for_matching([pid])
    assert (old.profile.site, new.profile.site) == ("Paris", "Lyon")
    assert old.version == 1 and new.version == 2
    with pytest.raises(NotFound):
        app.participant_as_of(pid, then - timedelta(days=1))
    with pytest.raises(NotFound):
        app.participant_as_of(open_programme_id, then)  # a programme is no participant
