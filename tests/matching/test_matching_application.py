"""The matching application on SQLite and PostgreSQL: rounds, answers, manual
matches, expiry, ends, races, replay and erasure.

Enrolment's attributes come from an in-memory table here (``AttributeTable``);
the real enrolment client and the subscriptions are tested with real servers
in test_matching_subscriptions.py and tests/e2e.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from matching_support import AttributeTable, Seeder

from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import (
    ConcurrencyConflict,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from revmentor.matching.application import (
    EXPIRY_ACTOR,
    AttributesUnavailable,
    MatchingApplication,
)
from revmentor.matching.domain.match import Match
from revmentor.matching.domain.policy import PolicyChange
from revmentor.matching.domain.programme import MatchingProgramme
from revmentor.matching.integration import translate


def open_pairs(app: MatchingApplication, programme_id: str) -> set[tuple[str, str]]:
    views = app.matches(programme_id=programme_id)
    return {
        (v["mentee_id"], v["mentor_id"]) for v in views if v["status"] in ("proposed", "confirmed")
    }


def test_round_proposes_certified_mentors_and_explains_the_rest(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    certified = [seed.mentor(programme) for _ in range(2)]
    uncertified = seed.mentor(programme, certified=False, skills_offered=["generative-ai"] * 1)
    mentees = [seed.mentee(programme) for _ in range(2)]
    lonely = seed.mentee(programme, languages=["ja"])

    record = matching_app.run_round(programme)

    assert record.round_number == 1 and len(record.inputs_digest) == 64
    assert record.algorithm_version.startswith("revmentor-matching/")
    pairs = {(p["mentee_id"], p["mentor_id"]) for p in record.proposals}
    assert {mentee for mentee, _ in pairs} == set(mentees)
    assert {mentor for _, mentor in pairs} == set(certified)
    assert uncertified not in {mentor for _, mentor in pairs}
    [unmatched] = record.unmatched
    assert unmatched["mentee_id"] == lonely
    assert unmatched["reasons"] == [f"no certified mentor shares a language with {lonely}"]
    assert unmatched["excluded_by"] == {"language": 2, "mentor_not_certified": 1}
    # The explanation is derived facts, every constraint listed, all passed.
    match = matching_app.match(record.proposals[0]["match_id"])
    codes = [c["code"] for c in match.checks]
    assert codes[-1] == "capacity" and "reporting_line" in codes and "availability" in codes
    assert all(c["passed"] for c in match.checks)
    assert any(c["explanation"].startswith("age gap 28 years >= 10") for c in match.checks)
    assert {c["name"] for c in match.breakdown} == {
        "coverage",
        "availability",
        "age_gap",
        "cross_department",
        "same_site",
    }
    # No personal attribute is recorded anywhere in the explanation.
    text = repr(match.checks)
    for row in seed.table.rows.values():
        for key in ("employee_id", "department", "site", "time_zone"):
            assert str(row[key]) not in text
        assert str(row["birth_year"]) not in text
    assert [u["mentee_id"] for u in matching_app.unmatched(programme)] == [lonely]


def test_both_accept_confirms_and_the_events_say_so(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    seed.mentee(programme)
    [proposal] = matching_app.run_round(programme).proposals
    mid = proposal["match_id"]

    first = matching_app.respond(mid, proposal["mentee_id"], True)
    assert first.status == "proposed" and first.answers["mentee"] == "accepted"
    again = matching_app.respond(mid, proposal["mentee_id"], True)
    assert again.version == first.version  # a repeated yes records nothing
    confirmed = matching_app.respond(mid, proposal["mentor_id"], True)
    assert confirmed.status == "confirmed" and confirmed.confirmed_at

    events = list(matching_app.repository.event_store.get(confirmed.id))
    published = [translate(e) for e in events]
    names = [p.name for p in published if p is not None]
    assert names == ["MatchProposed", "ProposalAccepted", "ProposalAccepted", "MatchConfirmed"]
    confirmed_event = published[-1]
    assert confirmed_event is not None
    assert confirmed_event.message.mentee_id == proposal["mentee_id"]
    with pytest.raises(IllegalTransition):
        matching_app.respond(mid, proposal["mentor_id"], False, "changed my mind")


def test_a_declined_pair_is_never_proposed_again(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    mentors = [seed.mentor(programme) for _ in range(2)]
    mentee = seed.mentee(programme)
    [first] = matching_app.run_round(programme).proposals
    with pytest.raises(ValidationFailed) as missing_reason:
        matching_app.respond(first["match_id"], mentee, False, "")
    assert missing_reason.value.violations[0].field == "reason"
    with pytest.raises(ValidationFailed) as stranger:
        matching_app.respond(
            first["match_id"], mentors[0] if first["mentor_id"] != mentors[0] else mentors[1], True
        )
    assert stranger.value.violations[0].field == "participant_id"

    declined = matching_app.respond(first["match_id"], mentee, False, "we already work together")
    assert declined.status == "declined" and declined.decline_reason == "we already work together"
    [second] = matching_app.run_round(programme).proposals
    assert second["mentee_id"] == mentee and second["mentor_id"] != first["mentor_id"]
    matching_app.respond(second["match_id"], second["mentor_id"], False, "no time this quarter")
    third = matching_app.run_round(programme)
    assert third.proposals == []
    assert third.unmatched[0]["reasons"] == [
        f"every certified mentor was already proposed to {mentee} and declined"
    ]


def test_expiry_counts_as_declined_and_happens_once(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    seed.mentee(programme)
    matching_app.set_policy(programme, PolicyChange(response_window_hours=1))
    [proposal] = matching_app.run_round(programme).proposals
    now = datetime.now(UTC)
    assert matching_app.expire_due(now) == 0
    assert matching_app.expire_due(now + timedelta(hours=2)) == 1
    assert matching_app.expire_due(now + timedelta(hours=3)) == 0
    match = matching_app.match(proposal["match_id"])
    assert match.status == "expired"
    history = matching_app.event_history(match.id)
    assert [h["type"] for h in history].count("Match.Expired") == 1
    assert history[-1]["envelope"]["actor"] == EXPIRY_ACTOR
    assert matching_app.run_round(programme).proposals == []  # expired = declined


def test_manual_match_checks_constraints_and_records_overrides(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme, department="digital")
    mentee = seed.mentee(programme, department="digital")
    with pytest.raises(IllegalTransition) as refused:
        matching_app.propose_match(programme, mentee, mentor)
    assert "same department" in str(refused.value) and "override" in str(refused.value)
    with pytest.raises(ValidationFailed) as no_reason:
        matching_app.propose_match(programme, mentee, mentor, ["same_department"], "")
    assert no_reason.value.violations[0].field == "override.justification"
    with pytest.raises(ValidationFailed) as not_failing:
        matching_app.propose_match(
            programme, mentee, mentor, ["same_department", "age_gap"], "HR agreed, see ticket 42"
        )
    assert "age_gap did not fail" in str(not_failing.value)
    with pytest.raises(ValidationFailed) as capacity:
        matching_app.propose_match(programme, mentee, mentor, ["capacity"], "HR agreed")
    assert capacity.value.violations[0].field == "override.constraints[0]"

    match = matching_app.propose_match(
        programme, mentee, mentor, ["same_department"], "HR agreed, see ticket 42"
    )
    assert match.origin == "manual" and match.overridden == ["same_department"]
    overridden = [c for c in match.checks if c["overridden"]]
    assert [c["code"] for c in overridden] == ["same_department"]
    assert match.override_justification == "HR agreed, see ticket 42"
    with pytest.raises(IllegalTransition):  # the mentee is taken now
        matching_app.propose_match(programme, mentee, seed.mentor(programme))
    with pytest.raises(ValidationFailed) as wrong_role:
        matching_app.propose_match(programme, mentor, mentee)
    assert {v.field for v in wrong_role.value.violations} >= {"mentee_id"}


def test_manual_match_never_exceeds_capacity_or_uses_an_uncertified_mentor(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme)
    novice = seed.mentor(programme, certified=False)
    first, second = seed.mentee(programme), seed.mentee(programme)
    matching_app.propose_match(programme, first, mentor)
    with pytest.raises(IllegalTransition) as full:
        matching_app.propose_match(programme, second, mentor)
    assert "already has 1 of 1 mentees" in str(full.value)
    with pytest.raises(IllegalTransition) as uncertified:
        matching_app.propose_match(programme, second, novice)
    assert "not certified" in str(uncertified.value)


def test_end_match_frees_the_mentor(matching_app: MatchingApplication, seed: Seeder) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme)
    first, second = seed.mentee(programme), seed.mentee(programme)
    [proposal] = matching_app.run_round(programme).proposals
    mid = proposal["match_id"]
    with pytest.raises(IllegalTransition):
        matching_app.end_match(mid, "completed")  # not confirmed yet
    matching_app.respond(mid, proposal["mentee_id"], True)
    matching_app.respond(mid, mentor, True)
    with pytest.raises(ValidationFailed) as no_reason:
        matching_app.end_match(mid, "dissolved", "")
    assert no_reason.value.violations[0].field == "reason"
    ended = matching_app.end_match(mid, "dissolved", "moved to another country")
    assert ended.status == "dissolved" and ended.end_reason == "moved to another country"
    [nxt] = matching_app.run_round(programme).proposals
    other = second if proposal["mentee_id"] == first else first
    assert nxt["mentee_id"] == other and nxt["mentor_id"] == mentor  # never the dissolved pair
    matching_app.respond(nxt["match_id"], other, True)
    matching_app.respond(nxt["match_id"], mentor, True)
    matching_app.end_match(nxt["match_id"], "completed")
    pool = matching_app.programme(programme)
    assert other not in pool.waiting_mentees()  # done with the programme
    assert pool.waiting_mentees() == [proposal["mentee_id"]]


def test_withdrawal_cancels_proposals_and_dissolves_matches(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme(capacity=2)
    mentor = seed.mentor(programme)
    a, b = seed.mentee(programme), seed.mentee(programme)
    proposals = {p["mentee_id"]: p for p in matching_app.run_round(programme).proposals}
    matching_app.respond(proposals[a]["match_id"], a, True)
    matching_app.respond(proposals[a]["match_id"], mentor, True)
    seed.leave(programme, mentor)
    assert matching_app.match(proposals[a]["match_id"]).status == "dissolved"
    assert matching_app.match(proposals[b]["match_id"]).status == "cancelled"
    assert matching_app.programme(programme).load == {}
    assert matching_app.run_round(programme).proposals == []


def _waiting_source(table: AttributeTable, barrier: threading.Barrier) -> Any:
    def fetch(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        barrier.wait(timeout=10)  # both commands have loaded the pool by now
        return table(ids)

    return fetch


def test_two_rounds_at_once_one_wins(
    matching_app: MatchingApplication, seed: Seeder, table: AttributeTable
) -> None:
    programme = seed.programme()
    for _ in range(3):
        seed.mentor(programme)
        seed.mentee(programme)
    matching_app.attributes = _waiting_source(table, threading.Barrier(2))
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(matching_app.run_round, programme) for _ in range(2)]
    outcomes = [f.exception() or f.result() for f in futures]
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    views = matching_app.matches(programme_id=programme)
    assert len(views) == 3
    assert len({v["mentee_id"] for v in views}) == 3
    assert matching_app.programme(programme).rounds == 1


def test_two_manual_matches_for_one_mentee_at_once_one_wins(
    matching_app: MatchingApplication, seed: Seeder, table: AttributeTable
) -> None:
    programme = seed.programme()
    mentors = [seed.mentor(programme) for _ in range(2)]
    mentee = seed.mentee(programme)
    matching_app.attributes = _waiting_source(table, threading.Barrier(2))
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(matching_app.propose_match, programme, mentee, m) for m in mentors]
    outcomes = [f.exception() or f.result() for f in futures]
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    assert len(matching_app.matches(participant_id=mentee)) == 1


def test_stale_expected_version_is_aborted(matching_app: MatchingApplication, seed: Seeder) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    seed.mentee(programme)
    version = matching_app.programme(programme).version
    matching_app.run_round(programme, expected_version=version)
    with pytest.raises(ConcurrencyConflict):
        matching_app.run_round(programme, expected_version=version)


def test_policy_changes_are_validated_and_weigh_the_round(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    with pytest.raises(ValidationFailed) as bad:
        matching_app.set_policy(
            programme,
            PolicyChange(
                weights={"coverage": -1.0},
                target_age_gap_years=0,
                response_window_hours=100_000,
            ),
        )
    fields = {v.field for v in bad.value.violations}
    assert fields == {
        "change.weights.coverage",
        "change.weights",
        "change.target_age_gap_years",
        "change.response_window_hours",
    }
    weights = {
        "coverage": 1.0,
        "availability": 0.0,
        "age_gap": 0.0,
        "cross_department": 0.0,
        "same_site": 0.0,
    }
    matching_app.set_policy(programme, PolicyChange(weights=weights, target_age_gap_years=25))
    seed.mentor(programme)
    seed.mentee(programme)
    record = matching_app.run_round(programme)
    assert record.policy["weights"] == weights and record.policy["target_age_gap_years"] == 25
    match = matching_app.match(record.proposals[0]["match_id"])
    contributions = {c["name"]: c["contribution"] for c in match.breakdown}
    assert match.score == contributions["coverage"] > 0  # the only weighted component
    assert sum(contributions.values()) == contributions["coverage"]


def test_enrolment_down_writes_nothing(matching_app: MatchingApplication, seed: Seeder) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    seed.mentee(programme)
    version = matching_app.programme(programme).version

    def down(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        raise AttributesUnavailable("enrolment is down")

    matching_app.attributes = down
    with pytest.raises(AttributesUnavailable):
        matching_app.run_round(programme)
    assert matching_app.programme(programme).version == version
    assert matching_app.matches(programme_id=programme) == []


def test_queries_refuse_bad_and_unknown_ids(matching_app: MatchingApplication) -> None:
    with pytest.raises(ValidationFailed) as bad:
        matching_app.match("not-a-uuid")
    assert bad.value.violations[0].field == "match_id"
    with pytest.raises(NotFound):
        matching_app.match("00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValidationFailed) as both:
        matching_app.matches()
    assert both.value.violations[0].field == "programme_id"


def test_replay_equals_live_and_erasure_shreds_explanations(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    mentee = seed.mentee(programme)
    [proposal] = matching_app.run_round(programme).proposals
    matching_app.respond(proposal["match_id"], mentee, False, "personal reasons")
    live = matching_app.views.digest()
    assert matching_app.rebuild_read_model().digest() == live

    matching_app.erase_participant(mentee)
    erased = matching_app.match(proposal["match_id"])
    assert erased.checks == ERASED and erased.decline_reason == ERASED
    assert erased.mentee_id == mentee and erased.status == "declined"
    assert matching_app.rebuild_read_model().digest() == live


def test_pool_snapshots_keep_state(store: dict[str, str], table: AttributeTable) -> None:
    """Past the snapshot interval, a reloaded pool equals the replayed one."""
    app = MatchingApplication(env=store, attributes=table)
    try:
        seed = Seeder(app, table)
        programme = seed.programme()
        pool = app.programme(programme)
        for i in range(450):
            pool.enrol(f"p{i}", "mentor" if i % 2 else "mentee")
        app.save(pool)
        app.take_snapshot(pool.id)
        fresh = app.programme(programme)
        assert isinstance(fresh, MatchingProgramme)
        assert len(fresh.members) == 450 and fresh.version == pool.version
    finally:
        app.close()


def test_match_ids_are_deterministic_per_round_and_mentee() -> None:
    from revmentor.matching.domain.match import round_match_id

    assert round_match_id("r", "m") == round_match_id("r", "m")
    assert round_match_id("r", "m") != round_match_id("r2", "m")
    assert Match.__name__ == "Match"


def test_two_answers_at_once_through_respond_one_wins(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    """Both answers load the proposal before either saves: one is recorded, the
    other is a concurrency conflict (ABORTED) and changes nothing."""
    programme = seed.programme()
    mentor = seed.mentor(programme)
    mentee = seed.mentee(programme)
    [proposal] = matching_app.run_round(programme).proposals
    barrier = threading.Barrier(2)
    load = matching_app.match

    def match_after_both_loaded(match_id: str) -> Match:
        found = load(match_id)
        barrier.wait(timeout=10)
        return found

    matching_app.match = match_after_both_loaded  # type: ignore[method-assign]
    mid = proposal["match_id"]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(matching_app.respond, mid, who, True) for who in (mentee, mentor)]
    matching_app.match = load  # type: ignore[method-assign]
    outcomes = [f.exception() or f.result() for f in futures]
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    after = matching_app.match(mid)
    assert after.status == "proposed"
    assert sorted(after.answers.values()) == ["accepted", "pending"]


def test_a_late_answer_is_refused_before_the_expiry_job_runs(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    seed.mentor(programme)
    mentee = seed.mentee(programme)
    [proposal] = matching_app.run_round(programme).proposals
    record = matching_app.match(proposal["match_id"])
    with pytest.raises(IllegalTransition, match="expired"):
        record.accept(mentee, record.expires_at)


def test_a_withdrawn_manager_still_links_the_reporting_line(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    """mentee E-BOSS <- E-MID (withdrawn) <- mentor E-JUNIOR: still one line."""
    programme = seed.programme()
    boss = seed.mentee(programme, employee_id="E-BOSS")
    middle = seed.mentee(programme, employee_id="E-MID", manager_employee_id="E-BOSS")
    seed.mentor(programme, employee_id="E-JUNIOR", manager_employee_id="E-MID")
    seed.leave(programme, middle)
    seed.table.rows[middle]["status"] = "withdrawn"
    record = matching_app.run_round(programme)
    assert record.proposals == []
    [unmatched] = record.unmatched
    assert unmatched["mentee_id"] == boss
    assert unmatched["excluded_by"] == {"reporting_line": 1}


def test_a_manual_match_with_an_override_is_scored(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme, department="digital")
    mentee = seed.mentee(programme, department="digital")
    match = matching_app.propose_match(
        programme, mentee, mentor, ["same_department"], "HR agreed, see ticket 42"
    )
    assert match.score > 0 and {c["name"] for c in match.breakdown} >= {"coverage", "age_gap"}


def test_a_level_3_mentor_outscores_a_level_1_mentor_on_coverage(
    matching_app: MatchingApplication, seed: Seeder
) -> None:
    """Same need, mentors alike but for their level in it: the expert covers the
    need in full, the beginner a third, an unlevelled skill (level 2) two thirds."""
    programme = seed.programme()
    skill = ["generative-ai"]
    expert = seed.mentor(programme, skills_offered=skill, skill_levels={"generative-ai": 3})
    beginner = seed.mentor(programme, skills_offered=skill, skill_levels={"generative-ai": 1})
    need = [("generative-ai", 1)]
    first = seed.mentee(programme, learning_needs=need)

    [proposal] = matching_app.run_round(programme).proposals
    assert (proposal["mentee_id"], proposal["mentor_id"]) == (first, expert)

    second = seed.mentee(programme, learning_needs=need)
    [proposal] = matching_app.run_round(programme).proposals
    assert (proposal["mentee_id"], proposal["mentor_id"]) == (second, beginner)

    views = matching_app.matches(programme_id=programme)
    matches = {v["mentor_id"]: matching_app.match(v["match_id"]) for v in views}
    coverage = {
        mentor: next(c["value"] for c in match.breakdown if c["name"] == "coverage")
        for mentor, match in matches.items()
    }
    assert coverage[expert] == pytest.approx(1.0)
    assert coverage[beginner] == pytest.approx(1 / 3)
    assert matches[expert].score > matches[beginner].score

    unlevelled = seed.mentor(programme, skills_offered=skill)  # no level: counts as 2
    third = seed.mentee(programme, learning_needs=need)
    [proposal] = matching_app.run_round(programme).proposals
    assert (proposal["mentee_id"], proposal["mentor_id"]) == (third, unlevelled)
    match = matching_app.match(proposal["match_id"])
    value = next(c["value"] for c in match.breakdown if c["name"] == "coverage")
    assert value == pytest.approx(2 / 3)
