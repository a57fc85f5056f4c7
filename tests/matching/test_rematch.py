"""Rematching: a recorded round re-runs from history to the same pairs.

A real enrolment application owns the attributes. The application-level tests
reach it through an in-process adapter that honours ``as_of`` exactly as the
gRPC path does (same application method, same message mapping); one test goes
through the real enrolment and matching gRPC servers (``EnrolmentAttributes``
with matching's service token) and through ``revmentor audit rematch``.

The story: round 1; then profiles change (a department that would now exclude
a recorded pair, a manager link that would, skills), a proposal is declined,
a mentor joins; round 2; more changes. Both rounds replay identically - same
digest, pairs, scores, unmatched mentees and reasons - while the *current*
attributes would give another digest: the point in time matters. A record
that does not match what history rebuilds is reported, never hidden.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from matching_support import AttributeTable, Seeder
from support import DevIssuer, invalid, refused, stored, tick

from revmentor.cli import audit_rematch
from revmentor.enrolment import mapping as enrolment_mapping
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.attributes import EnrolmentAttributes, as_of_text, attributes_dict
from revmentor.kernel.errors import ValidationFailed
from revmentor.kernel.natsserver import free_port
from revmentor.kernel.timestamps import parse
from revmentor.matching.application import (
    AttributesUnavailable,
    MatchingApplication,
    compute_round,
)
from revmentor.matching.domain import pool as pool_rules
from revmentor.matching.domain.programme import MatchingProgramme, programme_key
from revmentor.matching.domain.record import MatchingRound
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

Code = grpc.StatusCode
TOPICS = [Topic("generative-ai", "Generative AI"), Topic("social-media", "Social media")]


# -- enrolment, the owner of the attributes ------------------------------------------------------
class InProcessEnrolment:
    """``GetMatchingAttributes`` without the network: the enrolment application's
    own method and the messages' mapping, ``as_of`` passed as the client does."""

    def __init__(self, app: EnrolmentApplication):
        self.app = app
        self.asked: list[datetime | None] = []

    def __call__(
        self, ids: Sequence[str], as_of: datetime | None = None
    ) -> Mapping[str, Mapping[str, Any]]:
        self.asked.append(as_of)
        when = as_of_text(as_of) if as_of is not None else ""
        found = self.app.participants_for_matching(list(ids), when)
        return {str(p.id): attributes_dict(enrolment_mapping.matching_attributes(p)) for p in found}


def profile(role: str, department: str, **changes: Any) -> Profile:
    mentor = role == MENTOR
    fields: dict[str, Any] = {
        "display_name": "Someone",
        "email": "someone@example.com",
        "birth_year": 1999 if mentor else 1967,
        "department": department,
        "manager_employee_id": "BOSS",
        "site": "Paris",
        "time_zone": "Europe/Paris",
        "languages": ("en",),
        "skills_offered": ("generative-ai", "social-media") if mentor else (),
        "learning_needs": () if mentor else (LearningNeed("generative-ai", 1),),
        "availability": tuple(AvailabilityWindow(d, "09:00", "12:00") for d in (1, 2, 3)),
        "meeting_preference": "either",
    }
    fields.update(changes)
    return Profile(**fields)


class Programme:
    """One programme in enrolment and its pool in matching, kept in step the way
    the subscriptions keep them (the pool learns enrolments and certifications)."""

    def __init__(self, enrolment: EnrolmentApplication, matching: MatchingApplication):
        self.enrolment, self.matching = enrolment, matching
        created = enrolment.create_programme(
            "Rematch", "", "2027-01-11", "2027-06-30", TOPICS, ProgrammeRules()
        )
        self.id = str(created.id)
        enrolment.open_enrolment(self.id)
        pool = MatchingProgramme(programme_id=created.id)
        pool.record_rules(
            {"min_age_gap_years": 10, "mentor_capacity": 1, "same_department_allowed": False}
        )
        matching.save(pool)
        self.employees: dict[str, str] = {}  # participant id -> employee id
        self.profiles: dict[str, Profile] = {}

    def join(self, employee_id: str, role: str, department: str, **changes: Any) -> str:
        mine = profile(role, department, **changes)
        consent = Consent(True, "2027-01")
        pid = str(self.enrolment.enrol(self.id, employee_id, role, mine, consent).id)
        self.employees[pid], self.profiles[pid] = employee_id, mine
        pool = self.matching.programme(self.id)
        pool.enrol(pid, role)
        if role == MENTOR:
            pool.set_certified(pid, True)
        self.matching.save(pool)
        return pid

    def change(self, pid: str, **changes: Any) -> None:
        fields = {**self.profiles[pid].__dict__, **changes}
        self.profiles[pid] = Profile(**fields)
        self.enrolment.update_profile(pid, self.profiles[pid])

    def pool(self) -> MatchingProgramme:
        return self.matching.programme(self.id)


@pytest.fixture
def enrolment(tmp_path: Path) -> Iterator[EnrolmentApplication]:
    app = EnrolmentApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    yield app
    app.close()


@pytest.fixture
def source(enrolment: EnrolmentApplication) -> InProcessEnrolment:
    return InProcessEnrolment(enrolment)


@pytest.fixture
def rematch_app(store: dict[str, str], source: InProcessEnrolment) -> Iterator[MatchingApplication]:
    app = MatchingApplication(env=store, attributes=source)
    yield app
    app.close()


def pairs_of(record: MatchingRound) -> dict[str, tuple[str, float]]:
    return {p["mentee_id"]: (p["mentor_id"], float(p["score"])) for p in record.proposals}


def assert_replays_identically(app: MatchingApplication, record: MatchingRound) -> Any:
    replay = app.replay_round(str(record.id))
    assert replay.differences == () and replay.identical
    assert replay.replayed_digest == replay.recorded_digest == record.inputs_digest
    assert replay.current_algorithm == record.algorithm_version
    assert replay.replayed_pairs == replay.recorded_pairs
    assert {p.mentee_id: (p.mentor_id, p.score) for p in replay.replayed_pairs} == pairs_of(record)
    assert list(replay.replayed_unmatched) == [u["mentee_id"] for u in record.unmatched]
    # as of the instant the live round asked enrolment: recorded, before the record
    assert replay.attributes_as_of == parse(record.attributes_at) < record.created_on
    return replay


def digest_with_current_attributes(
    app: MatchingApplication, source: InProcessEnrolment, record: MatchingRound, version: int
) -> str:
    """What the same pool would give on today's attributes (no as_of)."""
    then = app.repository.get(programme_key(record.programme_id), version=version)
    return compute_round(then, source(pool_rules.members_to_fetch(then))).result.inputs_digest


# -- the application ---------------------------------------------------------------------------
def test_rounds_replay_to_the_recorded_pairs_on_history_not_on_today(
    rematch_app: MatchingApplication, enrolment: EnrolmentApplication, source: InProcessEnrolment
) -> None:
    app = rematch_app
    p = Programme(enrolment, app)
    m1 = p.join("E-M1", MENTOR, "Data", skills_offered=("generative-ai",))
    m2 = p.join("E-M2", MENTOR, "Digital")
    p.join("E-M3", MENTOR, "Ops", skills_offered=("social-media",))
    a = p.join("E-A", MENTEE, "Sales")
    b = p.join("E-B", MENTEE, "Finance", learning_needs=(LearningNeed("social-media", 1),))
    c = p.join("E-C", MENTEE, "Legal")
    d = p.join("E-D", MENTEE, "HR", languages=("de",))

    first = app.run_round(p.id)
    assert len(first.proposals) == 3 and [u["mentee_id"] for u in first.unmatched] == [d]
    taken = {mentee: mentor for mentee, (mentor, _) in pairs_of(first).items()}
    tick()  # everything below is strictly after round 1's record

    # changes that would undo round 1 if the replay read today's attributes
    p.change(a, department=p.profiles[taken[a]].department)  # same department: excluded
    p.change(taken[c], manager_employee_id="E-C")  # the mentee now manages the mentor
    p.change(m2, skills_offered=("social-media",))
    p.change(d, languages=("de", "en"))  # D could be matched now
    b_match = next(x["match_id"] for x in first.proposals if x["mentee_id"] == b)
    app.respond(b_match, b, accept=False, reason="we know each other too well")
    m4 = p.join("E-M4", MENTOR, "Finance-2")  # joins between the rounds

    second = app.run_round(p.id)
    assert second.round_number == 2 and second.inputs_digest != first.inputs_digest
    assert (b, taken[b]) not in {(x["mentee_id"], x["mentor_id"]) for x in second.proposals}
    tick()
    p.change(b, department="Finance-2")
    p.change(d, birth_year=1995)  # too close in age to every mentor now
    p.change(m4, skills_offered=("social-media",), languages=("fr",))
    p.change(m1, department="Sales")

    written = stored(app)
    one, two = assert_replays_identically(app, first), assert_replays_identically(app, second)
    assert stored(app) == written, "a replay writes nothing"
    assert source.asked[-2:] == [parse(first.attributes_at), parse(second.attributes_at)]
    assert m4 not in str(one.replayed_pairs) and one.programme_version < two.programme_version

    for record, replay in ((first, one), (second, two)):
        today = digest_with_current_attributes(app, source, record, replay.programme_version)
        assert today != record.inputs_digest, "today's attributes are not the round's"


def test_a_record_unlike_its_history_is_reported(
    rematch_app: MatchingApplication, enrolment: EnrolmentApplication
) -> None:
    app = rematch_app
    p = Programme(enrolment, app)
    mentors = [p.join(f"E-M{n}", MENTOR, f"Dept-{n}") for n in range(2)]
    mentee = p.join("E-A", MENTEE, "Sales")
    stranded = p.join("E-B", MENTEE, "HR", languages=("de",))
    record = app.run_round(p.id)
    [proposal] = record.proposals
    other = next(m for m in mentors if m != proposal["mentor_id"])

    tampered = copy.deepcopy(record)
    tampered.proposals = [{**proposal, "mentor_id": other}]
    tampered.unmatched = [{**record.unmatched[0], "reasons": ["nobody speaks German"]}]
    tampered.inputs_digest = "0" * 64
    replay = app.replay(tampered)
    assert not replay.identical
    assert replay.replayed_pairs != replay.recorded_pairs
    said = "\n".join(replay.differences)
    assert "inputs digest differs" in said
    assert f"mentee {mentee}: recorded with mentor {other}" in said
    assert f"replayed with mentor {proposal['mentor_id']}" in said
    assert f"mentee {stranded}: unmatched reasons recorded ['nobody speaks German']" in said

    rescored = copy.deepcopy(record)
    rescored.proposals = [{**proposal, "score": proposal["score"] + 0.01}]
    [line] = app.replay(rescored).differences
    assert line.startswith(f"mentee {mentee} with mentor {proposal['mentor_id']}: score recorded")

    older = copy.deepcopy(record)
    older.algorithm_version = "revmentor-matching/1 hungarian scipy-1.0"
    [line] = app.replay(older).differences
    assert "algorithm version changed" in line and "revmentor-matching/1" in line
    assert "the pairs, scores and unmatched mentees are the same" in line


def test_an_erased_participant_cannot_be_rebuilt_and_says_so(
    rematch_app: MatchingApplication, enrolment: EnrolmentApplication
) -> None:
    app = rematch_app
    p = Programme(enrolment, app)
    mentor = p.join("E-M1", MENTOR, "Data")
    mentee = p.join("E-A", MENTEE, "Sales")
    record = app.run_round(p.id)
    assert pairs_of(record)[mentee][0] == mentor
    enrolment.erase_participant(mentee, "asked to be forgotten")

    replay = app.replay_round(str(record.id))
    assert not replay.identical and replay.replayed_pairs == ()
    said = "\n".join(replay.differences)
    assert f"mentee {mentee}: recorded with mentor {mentor}" in said
    assert "erased since the round (their attributes then cannot be rebuilt" in said
    assert mentee in replay.differences[-1]


def test_a_source_that_cannot_answer_for_the_past_does_not_replay(
    store: dict[str, str], table: AttributeTable
) -> None:
    """A table of today's attributes would replay on today: refused, not guessed."""
    app = MatchingApplication(env=store, attributes=table)
    try:
        seed = Seeder(app, table)
        programme = seed.programme()
        seed.mentor(programme)
        seed.mentee(programme)
        record = app.run_round(programme)
        with pytest.raises(AttributesUnavailable, match="as_of"):
            app.replay_round(str(record.id))
        with pytest.raises(ValidationFailed):
            app.replay_round("nope")
    finally:
        app.close()


# -- the real servers and the command --------------------------------------------------------------
@pytest.fixture
def matching_app(
    store: dict[str, str], tmp_path: Path, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MatchingApplication]:
    """Matching as deployed: it asks enrolment (REVMENTOR_ENROLMENT_ADDR, set by
    ``enrolment_server``) over gRPC with its own service token."""
    token = tmp_path / "matching.token"
    token.write_text(issuer.token("service", sub="service:matching", service="matching"))
    monkeypatch.setenv("REVMENTOR_MATCHING_TOKEN_FILE", str(token))
    client = EnrolmentAttributes("matching")
    app = MatchingApplication(env=store, attributes=client)
    yield app
    app.close()
    client.close()


def rematch(round_id: str, token: str, as_json: bool = False) -> int:
    return audit_rematch.run(argparse.Namespace(round_id=round_id, json=as_json, token=token))


async def test_replay_round_through_the_real_servers_and_the_command(
    stub: pb_grpc.MatchingServiceStub,
    grpc_port: int,
    matching_app: MatchingApplication,
    enrolment_server: EnrolmentApplication,
    issuer: DevIssuer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = await asyncio.to_thread(Programme, enrolment_server, matching_app)
    for n in range(2):
        await asyncio.to_thread(p.join, f"E-M{n}", MENTOR, f"Dept-{n}")
        await asyncio.to_thread(p.join, f"E-A{n}", MENTEE, "Sales")
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=p.id))
    assert ran.proposed == 2
    tick()
    mentee, mentor = ran.proposals[0].mentee_id, ran.proposals[0].mentor_id
    await asyncio.to_thread(p.change, mentee, department=p.profiles[mentor].department)

    auditor = issuer.token("auditor", sub="auditor-1")
    request = pb.ReplayRoundRequest(round_id=ran.round_id)
    replay = await stub.ReplayRound(request, metadata=(("authorization", f"Bearer {auditor}"),))
    assert replay.identical and not replay.differences
    assert replay.round_id == ran.round_id and replay.programme_id == p.id
    assert replay.round_number == 1 and replay.ran_at == ran.ran_at
    assert replay.recorded_inputs_digest == replay.replayed_inputs_digest == ran.inputs_digest
    assert replay.recorded_algorithm_version == replay.current_algorithm_version
    recorded = [(x.mentee_id, x.mentor_id, x.score) for x in ran.proposals]
    assert [(x.mentee_id, x.mentor_id, x.score) for x in replay.replayed_pairs] == recorded
    assert list(replay.recorded_pairs) == list(replay.replayed_pairs)
    as_of = datetime.fromisoformat(replay.attributes_as_of.replace("Z", "+00:00"))
    assert as_of.tzinfo is not None and as_of <= datetime.now(UTC)
    assert replay.programme_version > 0 and not replay.replayed_unmatched

    # the command, against the same server
    monkeypatch.setenv("REVMENTOR_MATCHING_ADDR", f"127.0.0.1:{grpc_port}")
    assert await asyncio.to_thread(rematch, ran.round_id, auditor) == 0
    out = capsys.readouterr().out
    assert "identical: the round re-runs to the same 2 pairs" in out
    assert f"attributes as of  {replay.attributes_as_of}" in out
    assert f"* {mentee}" not in out and f"  {mentee} -> {mentor}" in out
    assert await asyncio.to_thread(rematch, ran.round_id, auditor, True) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["identical"] is True and document["replayed_pairs"][0]["mentee_id"]
    assert await asyncio.to_thread(rematch, str(uuid4()), auditor) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
    manager = issuer.token("programme_manager", sub="pm-1", programmes=[p.id])
    assert await asyncio.to_thread(rematch, ran.round_id, manager) == 1
    assert "PERMISSION_DENIED" in capsys.readouterr().err

    # enrolment out of reach: UNAVAILABLE, and the command says it could not reach
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{free_port()}")
    down = await refused(matching_app, Code.UNAVAILABLE, stub.ReplayRound, request)
    assert "enrolment" in (down.details() or "")
    assert await asyncio.to_thread(rematch, ran.round_id, auditor) == 2
    monkeypatch.setenv("REVMENTOR_MATCHING_ADDR", f"127.0.0.1:{free_port()}")
    assert await asyncio.to_thread(rematch, ran.round_id, auditor) == 2


async def test_replay_round_refusals(
    stub: pb_grpc.MatchingServiceStub,
    matching_app: MatchingApplication,
    enrolment_server: EnrolmentApplication,
    issuer: DevIssuer,
) -> None:
    p = await asyncio.to_thread(Programme, enrolment_server, matching_app)
    await asyncio.to_thread(p.join, "E-M", MENTOR, "Data")
    await asyncio.to_thread(p.join, "E-A", MENTEE, "Sales")
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=p.id))
    request = pb.ReplayRoundRequest(round_id=ran.round_id)
    for role, claims in (
        ("programme_manager", {"programmes": [p.id]}),
        ("service", {"service": "scheduling"}),
        ("mentor", {"employee_id": "E-M"}),
        ("mentee", {"employee_id": "E-A"}),
    ):
        metadata = issuer.metadata(role, sub=f"{role}-1", **claims)
        await refused(
            matching_app, Code.PERMISSION_DENIED, stub.ReplayRound, request, metadata=metadata
        )
    unknown = pb.ReplayRoundRequest(round_id=str(uuid4()))
    missing = await refused(matching_app, Code.NOT_FOUND, stub.ReplayRound, unknown)
    assert missing.details() == f"round {unknown.round_id} not found"
    for bad in ("", "nope", str(UUID(int=1))[:-1]):
        await invalid(
            matching_app, stub.ReplayRound, pb.ReplayRoundRequest(round_id=bad), ["round_id"]
        )
    admin = await stub.ReplayRound(request)  # the channel's admin token
    assert admin.identical
