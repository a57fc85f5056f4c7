"""The read model after a random script of commands: replay equals live, replicas agree,
and every view says what the aggregates in the repository say.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.participant import ENROLLED, Participant
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    WITHDRAWAL_REASONS,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import Programme, ProgrammeRules
from revmentor.kernel.errors import DomainError

SITES = ["Paris", "Lyon", "Nice"]
TRANSITIONS = ["open_enrolment", "close_enrolment", "launch", "close_programme"]


class Script:
    """Random commands against one application, some of them refused on purpose."""

    def __init__(self, app: EnrolmentApplication, build: SimpleNamespace, seed: int) -> None:
        self.app, self.build, self.rng = app, build, random.Random(seed)
        self.programmes: list[str] = []
        self.participants: list[str] = []
        self.accepted = self.refused = 0

    def profile(self, role: str, programme_id: str) -> Profile:
        codes = self.app.programme(programme_id).topic_codes
        if self.rng.random() < 0.1:
            codes.append("not-in-the-catalogue")  # refused: unknown topic
        picked = tuple(self.rng.sample(codes, self.rng.randint(1, 2)))
        site = self.rng.choice(SITES)
        if role == MENTOR:
            return self.build.profile(MENTOR, skills_offered=picked, site=site)
        needs = tuple(LearningNeed(code, self.rng.randint(1, 3)) for code in picked)
        return self.build.profile(MENTEE, learning_needs=needs, site=site)

    def step(self) -> None:
        rng, app = self.rng, self.app
        choice = rng.random()
        if not self.programmes or choice < 0.08:
            topics = rng.sample(self.build.topics, rng.randint(2, len(self.build.topics)))
            programme = app.create_programme(
                f"Cohort {len(self.programmes)}",
                "",
                "2025-01-01",
                "2025-12-31",
                topics,
                ProgrammeRules(mentor_capacity=rng.randint(1, 3)),
            )
            self.programmes.append(str(programme.id))
            if rng.random() < 0.8:
                app.open_enrolment(str(programme.id))
            return
        programme_id = rng.choice(self.programmes)
        if choice < 0.2:
            command = getattr(app, rng.choice(TRANSITIONS))
            self.attempt(command, programme_id, rng.choice([0, 0, 0, 0, 1, 2, 3]))
        elif choice < 0.6 or not self.participants:
            open_ids = [p for p in self.programmes if app.programme(p).accepts_enrolments]
            if open_ids and rng.random() < 0.85:  # else most enrolments would be refused
                programme_id = rng.choice(open_ids)
            role = rng.choice([MENTOR, MENTEE])
            employee = f"E-{rng.randint(1, 25)}"  # small pool: duplicates get refused
            consent = Consent(True, "2025-01", "2025-01-01T00:00:00+00:00")
            participant = self.attempt(
                app.enrol,
                programme_id,
                employee,
                role,
                self.profile(role, programme_id),
                consent,
                2025,
            )
            if participant is not None:
                self.participants.append(str(participant.id))
        elif choice < 0.85:
            participant_id = rng.choice(self.participants)
            participant = app.participant(participant_id)
            profile = self.profile(participant.role, str(participant.programme_id))
            stale = rng.choice([0, 0, 0, 1])  # version 1 is stale once it changed
            self.attempt(app.update_profile, participant_id, profile, stale, 2025)
        else:
            participant_id = rng.choice(self.participants)
            reason = rng.choice([*WITHDRAWAL_REASONS, "bored"])
            self.attempt(app.withdraw, participant_id, reason, "", rng.choice([0, 0, 9]))
        if rng.random() < 0.1:
            app.views  # noqa: B018 - catch up mid-script, as a live replica does

    def attempt(self, command: Any, *args: Any) -> Any:
        before = len(self.app.notifications(0, 100_000))
        try:
            result = command(*args)
        except DomainError:
            self.refused += 1
            assert len(self.app.notifications(0, 100_000)) == before
            return None
        self.accepted += 1
        return result

    def run(self, steps: int) -> Script:
        for _ in range(steps):
            self.step()
        return self


def aggregate_views(app: EnrolmentApplication) -> SimpleNamespace:
    """What the read model should hold, computed from the aggregates themselves."""
    programmes: dict[str, dict[str, Any]] = {}
    participants: dict[str, dict[str, Any]] = {}
    ids = dict.fromkeys(n.originator_id for n in app.notifications(0, 100_000))  # log order
    for aggregate in map(app.repository.get, ids):
        if isinstance(aggregate, Programme):
            programmes[str(aggregate.id)] = {
                "name": aggregate.name,
                "status": aggregate.status,
                "version": aggregate.version,
                "topics": aggregate.topics,
                "rules": aggregate.rules,
            }
        elif isinstance(aggregate, Participant):
            participants[str(aggregate.id)] = {
                "participant_id": str(aggregate.id),
                "programme_id": str(aggregate.programme_id),
                "employee_id": aggregate.employee_id,
                "role": aggregate.role,
                "profile": aggregate.profile_data,
                "consent": aggregate.consent_data,
                "status": aggregate.status,
                "withdrawal_reason": aggregate.withdrawal_reason,
                "version": aggregate.version,
                "enrolled_at": aggregate.created_on.isoformat(),
            }
    return SimpleNamespace(programmes=programmes, participants=participants)


def expected_counts(views: SimpleNamespace, programme_id: str) -> tuple[int, int]:
    active = [
        p
        for p in views.participants.values()
        if p["programme_id"] == programme_id and p["status"] == ENROLLED
    ]
    return (
        sum(p["role"] == MENTOR for p in active),
        sum(p["role"] == MENTEE for p in active),
    )


def assert_views_match_aggregates(app: EnrolmentApplication) -> None:
    truth = aggregate_views(app)
    views = app.views
    assert (
        dict(zip(views.participants, app.opened(list(views.participants.values())), strict=True))
        == truth.participants
    )
    assert set(views.programmes) == set(truth.programmes)
    for programme_id, expected in truth.programmes.items():
        view = views.programmes[programme_id]
        assert {key: view[key] for key in expected} == expected
        assert app.programme_counts(programme_id) == expected_counts(truth, programme_id)
        assert views.by_programme[programme_id] == [
            pid for pid, p in truth.participants.items() if p["programme_id"] == programme_id
        ]


@pytest.mark.parametrize("seed", [7, 2025, 424242])
def test_replay_equals_live_and_views_match_aggregates(
    enrolment_app: EnrolmentApplication, build: SimpleNamespace, seed: int
) -> None:
    app = enrolment_app
    script = Script(app, build, seed).run(70)
    assert script.accepted > 20 and script.refused > 5, (script.accepted, script.refused)
    assert len(script.participants) > 5

    live = app.views.digest()
    assert app.rebuild_read_model().digest() == live
    assert app.views.position == app.notifications(0, 100_000)[-1].id
    assert_views_match_aggregates(app)


def test_a_second_replica_sees_the_same_read_model(
    store: dict[str, str], enrolment_app: EnrolmentApplication, build: SimpleNamespace
) -> None:
    first = enrolment_app
    script = Script(first, build, seed=99).run(50)
    second = EnrolmentApplication(env=store)
    try:
        assert second.views.digest() == first.views.digest()
        for programme_id in script.programmes:
            assert second.programme_counts(programme_id) == first.programme_counts(programme_id)

        # Writes through either replica reach the other one's read model.
        Script(second, build, seed=100).run(30)
        more = Script(first, build, seed=101)
        more.programmes = list(script.programmes)
        more.participants = list(script.participants)
        more.run(30)
        assert first.views.digest() == second.views.digest()
        assert first.rebuild_read_model().digest() == second.views.digest()
        assert_views_match_aggregates(second)
        for programme_id in script.programmes:
            assert second.programme_counts(programme_id) == first.programme_counts(programme_id)
    finally:
        second.close()


def test_a_replica_started_after_the_fact_catches_up_in_pages(
    store: dict[str, str], enrolment_app: EnrolmentApplication, build: SimpleNamespace
) -> None:
    Script(enrolment_app, build, seed=5).run(40)
    replica = EnrolmentApplication(env=store)
    replica.page_size = 3  # several pages, one partial
    try:
        assert replica.views.digest() == enrolment_app.views.digest()
        assert replica.rebuild_read_model().digest() == enrolment_app.views.digest()
    finally:
        replica.close()


def test_list_queries_match_the_aggregates(
    enrolment_app: EnrolmentApplication, build: SimpleNamespace
) -> None:
    app = enrolment_app
    Script(app, build, seed=11).run(60)
    truth = aggregate_views(app)
    for programme_id in truth.programmes:
        for role in ("", MENTOR, MENTEE):
            for site in ("", *SITES):
                listed = app.opened(app.participant_views(programme_id, role, "", "", site))
                expected = [
                    p
                    for p in truth.participants.values()
                    if p["programme_id"] == programme_id
                    and (not role or p["role"] == role)
                    and (not site or p["profile"]["site"] == site)
                ]
                assert listed == expected
        for topic in [t.code for t in build.topics]:
            listed = app.participant_views(programme_id, "", ENROLLED, topic)
            assert {p["participant_id"] for p in listed} == {
                pid
                for pid, p in truth.participants.items()
                if p["programme_id"] == programme_id
                and p["status"] == ENROLLED
                and topic in Profile.from_dict(p["profile"]).topics()
            }
    statuses = {p["status"] for p in truth.programmes.values()}
    for status in statuses:
        assert {p["programme_id"] for p in app.views.list_programmes(status)} == {
            pid for pid, p in truth.programmes.items() if p["status"] == status
        }
