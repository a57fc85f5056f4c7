"""Every hard constraint, the overlap in UTC, the score and a round: pure values."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.availability import utc_intervals, weekly_overlap_minutes
from revmentor.matching.domain.candidates import (
    MenteeCandidate,
    MentorCandidate,
    Need,
    ProgrammeRules,
    SkillOffer,
    Weights,
    Window,
)
from revmentor.matching.domain.round import ALGORITHM_VERSION, run_round
from revmentor.matching.domain.scoring import score_pair

MON = 1
RULES = ProgrammeRules()


def mentee(pid: str = "e1", **kw: object) -> MenteeCandidate:
    base = MenteeCandidate(
        participant_id=pid,
        employee_id=f"emp-{pid}",
        manager_employee_id="",
        department="finance",
        site="paris",
        time_zone="Europe/Paris",
        birth_year=1965,
        languages=("fr", "en"),
        availability=(Window(MON, "09:00", "11:00"),),
        learning_needs=(Need("ai", 1), Need("social", 3)),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def mentor(pid: str = "m1", **kw: object) -> MentorCandidate:
    base = MentorCandidate(
        participant_id=pid,
        employee_id=f"emp-{pid}",
        manager_employee_id="",
        department="it",
        site="paris",
        time_zone="Europe/Paris",
        birth_year=1997,
        languages=("fr",),
        availability=(Window(MON, "09:00", "11:00"),),
        skills_offered=(SkillOffer("ai", 3),),
        certified=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def ctx(**kw: object) -> c.PairContext:
    return replace(c.PairContext(RULES), **kw)  # type: ignore[arg-type]


def test_a_good_pair_passes_everything() -> None:
    assert c.first_exclusion(mentee(), mentor(), ctx()) is None
    assert c.all_exclusions(mentee(), mentor(), ctx()) == []


def test_mentor_must_be_certified_and_active() -> None:
    assert c.mentor_eligibility(mentor(certified=False)) == c.Exclusion(
        c.NOT_CERTIFIED, "mentor m1 is not certified"
    )
    assert c.mentor_eligibility(mentor(status="withdrawn")) == c.Exclusion(
        c.MENTOR_INACTIVE, "mentor m1 is withdrawn"
    )
    assert c.mentee_eligibility(mentee(status="withdrawn")) == c.Exclusion(
        c.MENTEE_INACTIVE, "mentee e1 is withdrawn"
    )
    assert not c.mentor_eligibility(mentor())


def test_age_gap_minimum() -> None:
    out = c.check_age_gap(mentee(birth_year=1990), mentor(birth_year=1996), ctx())
    assert out == c.Exclusion(c.AGE_GAP, "age gap 6 years < programme minimum 10")
    assert not c.check_age_gap(mentee(birth_year=1986), mentor(birth_year=1996), ctx())
    # an older "mentor" is a negative gap, never allowed
    assert c.check_age_gap(mentee(birth_year=2000), mentor(birth_year=1990), ctx())


def test_shared_language() -> None:
    out = c.check_language(mentee(languages=("de",)), mentor(languages=("fr", "en")), ctx())
    assert isinstance(out, c.Exclusion)
    assert out.code == c.LANGUAGE and "no shared language" in out.explanation
    assert "e1" in out.explanation and "m1" in out.explanation


def test_same_department_unless_allowed() -> None:
    same = mentor(department="finance")
    out = c.check_department(mentee(), same, ctx())
    assert isinstance(out, c.Exclusion)
    assert "same department (not allowed in this programme)" in out.explanation
    allowed = ctx(rules=ProgrammeRules(same_department_allowed=True))
    assert not c.check_department(mentee(), same, allowed)


def test_reporting_line_both_directions_through_chain() -> None:
    chain = c.ManagerChain({"b7": "emp-m1"})
    out = c.check_reporting_line(mentee(manager_employee_id="b7"), mentor(), ctx(chain=chain))
    assert out == c.Exclusion(
        c.REPORTING_LINE,
        "mentor m1 is in mentee e1's reporting line (manager chain e1 -> b7 -> m1)",
    )
    out = c.check_reporting_line(mentee(), mentor(manager_employee_id="emp-e1"), ctx())
    assert isinstance(out, c.Exclusion)
    assert out.explanation == (
        "mentee e1 is in mentor m1's reporting line (manager chain m1 -> e1)"
    )
    assert not c.check_reporting_line(mentee(manager_employee_id="b7"), mentor(), ctx())


def test_reporting_line_is_cycle_safe() -> None:
    chain = c.ManagerChain({"a": "b", "b": "a"})
    assert not c.check_reporting_line(mentee(manager_employee_id="a"), mentor(), ctx(chain=chain))
    chain = c.ManagerChain({"emp-e1": "x", "x": "emp-e1"})
    assert not c.check_reporting_line(mentee(manager_employee_id="x"), mentor(), ctx(chain=chain))


def test_meeting_mode_and_sites() -> None:
    both = c.check_meeting_mode(
        mentee(meeting_preference="in_person"),
        mentor(meeting_preference="in_person", site="lyon"),
        ctx(),
    )
    assert both == c.Exclusion(c.MEETING_MODE, "in-person on both sides but different sites")
    assert not c.check_meeting_mode(
        mentee(meeting_preference="in_person"), mentor(meeting_preference="in_person"), ctx()
    )
    one_sided = c.check_meeting_mode(
        mentee(meeting_preference="in_person"), mentor(site="lyon"), ctx()
    )
    assert isinstance(one_sided, c.Exclusion)
    assert "mentee e1 meets only in person" in one_sided.explanation
    assert c.check_meeting_mode(
        mentee(meeting_preference="in_person"), mentor(meeting_preference="virtual"), ctx()
    )
    assert not c.check_meeting_mode(mentee(), mentor(site="lyon"), ctx())


def test_availability_minimum() -> None:
    short = mentor(availability=(Window(MON, "10:30", "12:00"),))
    out = c.check_availability(mentee(), short, ctx())
    assert out == c.Exclusion(c.AVAILABILITY, "weekly overlap 30 min < 60 min minimum")


def test_declined_pair_is_excluded() -> None:
    out = c.check_declined(mentee(), mentor(), ctx(declined=frozenset({("e1", "m1")})))
    assert isinstance(out, c.Exclusion) and out.code == c.DECLINED


@pytest.mark.parametrize(
    ("zone", "window", "minutes"),
    [
        ("America/New_York", Window(MON, "03:00", "05:00"), 120),
        ("Asia/Tokyo", Window(MON, "17:00", "19:00"), 120),
        ("Asia/Tokyo", Window(MON, "18:00", "20:00"), 60),
        ("Asia/Kolkata", Window(MON, "13:30", "15:30"), 120),
        ("America/New_York", Window(MON, "09:00", "11:00"), 0),
    ],
)
def test_overlap_across_time_zones(zone: str, window: Window, minutes: int) -> None:
    paris = (Window(MON, "09:00", "11:00"),)
    assert weekly_overlap_minutes(paris, "Europe/Paris", (window,), zone) == minutes


def test_overlap_crosses_midnight_and_week_wrap() -> None:
    # Tokyo Monday 06:00-08:00 is Sunday 21:00-23:00 UTC: the end of the same week.
    tokyo = (Window(MON, "06:00", "08:00"),)
    assert utc_intervals(tokyo, "Asia/Tokyo") == ((10080 - 180, 10080 - 60),)
    new_york_sunday = (Window(7, "16:00", "18:00"),)
    assert weekly_overlap_minutes(tokyo, "Asia/Tokyo", new_york_sunday, "America/New_York") == 120
    # A local window across midnight: Sunday 23:00 - Monday 01:00 in UTC wraps the week.
    late = (Window(7, "23:00", "01:00"),)
    assert utc_intervals(late, "UTC") == ((0, 60), (10080 - 60, 10080))
    early = (Window(MON, "00:00", "00:30"),)
    assert weekly_overlap_minutes(late, "UTC", early, "UTC") == 30
    # Overlapping windows of one person are not counted twice.
    twice = (Window(MON, "09:00", "11:00"), Window(MON, "10:00", "12:00"))
    assert weekly_overlap_minutes(twice, "UTC", (Window(MON, "00:00", "24:00"),), "UTC") == 180


def test_overlap_uses_the_reference_week_not_today() -> None:
    paris = (Window(MON, "09:00", "11:00"),)
    new_york = (Window(MON, "03:00", "05:00"),)
    winter = weekly_overlap_minutes(paris, "Europe/Paris", new_york, "America/New_York")
    # Mid-March: the US switched to DST, Europe not yet -> the offset differs by 4 h.
    march = date(2024, 3, 12)
    shifted = weekly_overlap_minutes(paris, "Europe/Paris", new_york, "America/New_York", march)
    assert (winter, shifted) == (120, 60)
    assert winter == weekly_overlap_minutes(paris, "Europe/Paris", new_york, "America/New_York")


def test_score_breakdown() -> None:
    score = score_pair(mentee(), mentor(), 120, RULES)
    parts = {comp.name: comp for comp in score.components}
    # need ai (priority 1, weight 3) covered at level 3; social (weight 1) not.
    assert parts["coverage"].value == 0.75
    assert parts["availability"].value == 0.5
    assert parts["age_gap"].value == round(1 - 12 / 20, 6)
    assert parts["cross_department"].value == 1.0
    assert parts["same_site"].value == 0.5
    assert score.total == round(sum(comp.contribution for comp in score.components), 6)
    heavy = ProgrammeRules(
        weights=Weights(coverage=1, availability=0, age_gap=0, cross_department=0, same_site=0)
    )
    assert score_pair(mentee(), mentor(), 120, heavy).total == 0.75


def test_round_proposes_and_explains() -> None:
    # e3 could take m1 too but scores lower (m1 offers nothing it needs).
    mentees = [mentee("e1"), mentee("e2", languages=("de",)), mentee("e3", learning_needs=())]
    mentors = [mentor("m1"), mentor("m2", certified=False, languages=("de",))]
    result = run_round(mentees, mentors, ProgrammeRules(mentor_capacity=1), {})
    assert [(p.mentee_id, p.mentor_id) for p in result.proposals] == [("e1", "m1")]
    proposal = result.proposals[0]
    assert c.AVAILABILITY in proposal.checks_passed and c.CAPACITY in proposal.checks_passed
    assert {comp.name for comp in proposal.breakdown} == {
        "coverage",
        "availability",
        "age_gap",
        "cross_department",
        "same_site",
    }
    reasons = {u.mentee_id: u.reasons for u in result.unmatched}
    assert reasons["e2"][0] == "no certified mentor shares a language with e2"
    assert reasons["e3"] == (
        "every mentor who passes all constraints for e3 (m1) is already at capacity",
    )
    assert result.algorithm_version == ALGORITHM_VERSION
    assert len(result.inputs_digest) == 64


def test_round_never_reproposes_a_declined_pair_and_uses_capacity() -> None:
    mentees = [mentee("e1"), mentee("e2")]
    mentors = [mentor("m1"), mentor("m2", current_mentees=1)]
    rules = ProgrammeRules(mentor_capacity=2)
    result = run_round(mentees, mentors, rules, {}, frozenset({("e1", "m1")}))
    pairs = {(p.mentee_id, p.mentor_id) for p in result.proposals}
    assert pairs == {("e1", "m2"), ("e2", "m1")}
    again = run_round(mentees, mentors, rules, {})
    assert again.inputs_digest != result.inputs_digest


def test_round_without_certified_mentors() -> None:
    result = run_round([mentee()], [mentor(certified=False)], RULES, {})
    assert result.proposals == ()
    assert result.unmatched[0].reasons[0].startswith("no certified active mentor")


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="twice"):
        run_round([mentee(), mentee()], [mentor()], RULES, {})


def test_invalid_values_are_rejected() -> None:
    with pytest.raises(ValueError):
        ProgrammeRules(mentor_capacity=4)
    with pytest.raises(ValueError):
        Window(MON, "9:60", "10:00")
    with pytest.raises(ValueError):
        SkillOffer("ai", 4)
