"""The validation rules, one by one: what passes, what fails, and which field is named.

Pure and fast: every rule is called directly with a ``Violations`` collector,
and every assertion is on the exact set of field names reported.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from revmentor.enrolment.domain import rules
from revmentor.enrolment.domain.profile import (
    MEETING_PREFERENCES,
    MENTEE,
    MENTOR,
    WITHDRAWAL_REASONS,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.errors import ValidationFailed, Violations

THIS_YEAR = 2025
CATALOGUE = ["generative-ai", "social-media", "data-privacy", "low-code"]
TOPICS = [Topic(code, code.replace("-", " ").title()) for code in CATALOGUE]
RULES = ProgrammeRules()
FAST = settings(max_examples=60, deadline=None)


def window(weekday: int, start: str, end: str) -> AvailabilityWindow:
    return AvailabilityWindow(weekday, start, end)


def profile(role: str = MENTOR, **changes: Any) -> Profile:
    fields: dict[str, Any] = {
        "display_name": "Ada Lovelace",
        "email": "ada@example.com",
        "birth_year": 1998,
        "department": "Engineering",
        "manager_employee_id": "M-1",
        "site": "Paris",
        "time_zone": "Europe/Paris",
        "languages": ("en",),
        "skills_offered": ("generative-ai",) if role == MENTOR else (),
        "learning_needs": () if role == MENTOR else (LearningNeed("social-media", 1),),
        "availability": (window(1, "09:00", "10:00"),),
        "meeting_preference": "virtual",
    }
    fields.update(changes)
    return Profile(**fields)


def profile_fields(
    p: Profile,
    role: str = MENTOR,
    session_minutes: int = 60,
    this_year: int = THIS_YEAR,
    employee_id: str = "E-1",
) -> list[str]:
    v = Violations()
    rules.check_profile(
        v,
        role,
        p,
        CATALOGUE,
        ProgrammeRules(session_minutes=session_minutes),
        this_year,
        employee_id,
    )
    return [item.field for item in v.items]


def programme_fields(**changes: Any) -> list[str]:
    args: dict[str, Any] = {
        "name": "Reverse mentoring 2025",
        "description": "",
        "start_date": "2025-03-01",
        "end_date": "2025-09-30",
        "topics": TOPICS,
        "rules": RULES,
    }
    args.update(changes)
    v = Violations()
    rules.check_programme(v, **args)
    return [item.field for item in v.items]


def enrolment_fields(
    employee_id: str = "E-1",
    role: str = MENTOR,
    p: Profile | None = None,
    consent: Consent | None = None,
) -> list[str]:
    v = Violations()
    rules.check_enrolment(
        v,
        employee_id,
        role,
        p or profile(role),
        consent or Consent(True, "2025-01"),
        CATALOGUE,
        RULES,
        THIS_YEAR,
    )
    return [item.field for item in v.items]


# -- violations collector --------------------------------------------------------------------------
def test_violations_raise_once_with_every_item() -> None:
    v = Violations()
    assert v.check(True, "a", "fine") is True
    assert v.check(False, "b", "bad") is False
    v.add("c", "also bad")
    with pytest.raises(ValidationFailed) as caught:
        v.raise_if_any()
    assert [x.field for x in caught.value.violations] == ["b", "c"]
    assert "b: bad" in str(caught.value) and "c: also bad" in str(caught.value)


def test_no_violations_raise_nothing() -> None:
    Violations().raise_if_any()


# -- programmes ------------------------------------------------------------------------------------
def test_valid_programme_passes() -> None:
    assert programme_fields() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Pilot\x07"}, "name"),
        ({"description": "d" * 2001}, "description"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": ""}, "start_date"),
        ({"end_date": "next year"}, "end_date"),
        ({"end_date": "2025-01-01"}, "end_date"),  # before start
        ({"end_date": "2025-03-01"}, "end_date"),  # same day as start
        ({"topics": []}, "topics"),
    ],
)
def test_programme_rule_names_its_field(changes: dict[str, Any], field: str) -> None:
    assert programme_fields(**changes) == [field]


def test_programme_boundaries_pass() -> None:
    assert programme_fields(name="x" * 200, description="d" * 2000) == []
    assert programme_fields(start_date="2025-03-01", end_date="2025-03-02") == []


@pytest.mark.parametrize("value", ["20250301", "2025-W09-6"])
def test_programme_dates_must_be_written_yyyy_mm_dd(value: str) -> None:
    # The rule promises "an ISO date YYYY-MM-DD"; Python 3.11's date.fromisoformat
    # also accepts the basic and week-date forms, which would be stored verbatim.
    assert programme_fields(start_date=value, end_date="2025-12-31") == ["start_date"]


def test_programme_reports_every_violation_at_once() -> None:
    fields = programme_fields(
        name="",
        description="d" * 2001,
        start_date="2025-13-01",
        end_date="bad",
        topics=[Topic("AI", "AI"), Topic("low-code", ""), Topic("low-code", "Again")],
        rules=ProgrammeRules(mentor_capacity=0, session_minutes=30),
    )
    assert fields == [
        "name",
        "description",
        "start_date",
        "end_date",
        "topics[0].code",
        "topics[1].title",
        "topics[2].code",
        "rules.mentor_capacity",
        "rules.session_minutes",
    ]


@pytest.mark.parametrize("code", ["ai", "generative-ai", "web3", "a" * 40, "0-day"])
def test_good_topic_codes(code: str) -> None:
    v = Violations()
    rules.check_topics(v, [Topic(code, "Title")])
    assert v.items == []


@pytest.mark.parametrize(
    "code", ["", "a", "AI", "-ai", "gen ai", "gen_ai", "a" * 41, "émoji", "ai\n"]
)
def test_bad_topic_codes(code: str) -> None:
    v = Violations()
    rules.check_topics(v, [Topic("low-code", "Low code"), Topic(code, "Title")])
    assert [x.field for x in v.items] == ["topics[1].code"]


def test_duplicate_topic_codes_name_the_repeat() -> None:
    v = Violations()
    topics = [Topic("ai", "A"), Topic("ml", "B"), Topic("ai", "C"), Topic("ml", "D")]
    rules.check_topics(v, topics)
    assert [x.field for x in v.items] == ["topics[2].code", "topics[3].code"]
    assert "duplicate" in v.items[0].description


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (100, True), (101, False)])
def test_topic_count_bounds(count: int, ok: bool) -> None:
    v = Violations()
    rules.check_topics(v, [Topic(f"topic-{i}", f"Topic {i}") for i in range(count)])
    assert [x.field for x in v.items] == ([] if ok else ["topics"])


@pytest.mark.parametrize(
    ("title", "ok"), [("T", True), ("t" * 100, True), ("", False), ("t" * 101, False)]
)
def test_topic_title_bounds(title: str, ok: bool) -> None:
    v = Violations()
    rules.check_topics(v, [Topic("ai", title)])
    assert [x.field for x in v.items] == ([] if ok else ["topics[0].title"])


BOUNDS = {
    "min_age_gap_years": (0, 40),
    "mentor_capacity": (1, 3),
    "planned_sessions": (1, 24),
    "session_minutes": (60, 120),
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_programme_rules_bounds(name: str) -> None:
    low, high = BOUNDS[name]
    for value, ok in [(low - 1, False), (low, True), (high, True), (high + 1, False)]:
        v = Violations()
        rules.check_rules(v, ProgrammeRules(**{name: value}))
        assert [x.field for x in v.items] == ([] if ok else [f"rules.{name}"]), value


def test_default_programme_rules_are_valid() -> None:
    v = Violations()
    rules.check_rules(v, ProgrammeRules())
    assert v.items == []


# -- employee ids, role and consent ----------------------------------------------------------------
@pytest.mark.parametrize("value", ["E1", "e.m-p_1", "7", "A" * 64])
def test_good_employee_ids(value: str) -> None:
    assert enrolment_fields(employee_id=value) == []


@pytest.mark.parametrize("value", ["", "-E1", ".E1", "E 1", "E1/2", "É1", "A" * 65, "E1\n"])
def test_bad_employee_ids(value: str) -> None:
    # "E1\n" matters: a trailing newline would register a second enrolment of E1.
    assert enrolment_fields(employee_id=value) == ["employee_id"]


@pytest.mark.parametrize("role", ["", "coach", "MENTOR"])
def test_unknown_role_is_reported_without_judging_the_profile(role: str) -> None:
    bad_profile = profile(email="nope")
    assert enrolment_fields(role=role, p=bad_profile) == ["role"]


def test_consent_must_be_given_against_a_notice_version() -> None:
    assert enrolment_fields(consent=Consent(False, "2025-01")) == ["consent.given"]
    assert enrolment_fields(consent=Consent(True, "")) == ["consent.notice_version"]
    assert enrolment_fields(consent=Consent(True, "v" * 33)) == ["consent.notice_version"]
    assert enrolment_fields(consent=Consent(True, "v" * 32)) == []


def test_enrolment_reports_every_violation_at_once() -> None:
    fields = enrolment_fields(
        employee_id="",
        role=MENTEE,
        p=profile(MENTEE, email="x", time_zone="Mars/Olympus"),
        consent=Consent(False, ""),
    )
    assert fields == [
        "employee_id",
        "profile.email",
        "profile.time_zone",
        "consent.given",
        "consent.notice_version",
    ]


# -- profile: identity and contact -----------------------------------------------------------------
@pytest.mark.parametrize("role", [MENTOR, MENTEE])
def test_valid_profiles_pass(role: str) -> None:
    assert profile_fields(profile(role), role=role) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"display_name": ""}, "profile.display_name"),
        ({"display_name": "n" * 201}, "profile.display_name"),
        ({"display_name": "Ada\x00"}, "profile.display_name"),
        ({"department": ""}, "profile.department"),
        ({"department": "d" * 101}, "profile.department"),
        ({"site": " "}, "profile.site"),
        ({"site": "Paris\nLyon"}, "profile.site"),
        ({"manager_employee_id": "boss man"}, "profile.manager_employee_id"),
        ({"manager_employee_id": "E-1"}, "profile.manager_employee_id"),  # own manager
        ({"meeting_preference": ""}, "profile.meeting_preference"),
        ({"meeting_preference": "zoom"}, "profile.meeting_preference"),
    ],
)
def test_profile_rule_names_its_field(changes: dict[str, Any], field: str) -> None:
    assert profile_fields(profile(**changes)) == [field]


def test_manager_is_optional() -> None:
    assert profile_fields(profile(manager_employee_id="")) == []


@pytest.mark.parametrize("preference", MEETING_PREFERENCES)
def test_every_meeting_preference_is_accepted(preference: str) -> None:
    assert profile_fields(profile(meeting_preference=preference)) == []


@pytest.mark.parametrize("email", ["a@b.co", "first.last+tag@corp.example.com"])
def test_good_emails(email: str) -> None:
    assert profile_fields(profile(email=email)) == []


BAD_EMAILS = ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "a@b@c.com"]


@pytest.mark.parametrize("email", [*BAD_EMAILS, "a@example.com\n", "a" * 250 + "@b.com"])
def test_bad_emails(email: str) -> None:
    assert profile_fields(profile(email=email)) == ["profile.email"]


@pytest.mark.parametrize(
    ("this_year", "birth_year", "ok"),
    [
        (2025, 1930, True),
        (2025, 1929, False),
        (2025, 2009, True),  # turns 16 this year
        (2025, 2010, False),
        (2040, 2024, True),  # the upper bound moves with this_year
        (2040, 2025, False),
        (2025, 0, False),
        (2025, -1, False),
    ],
)
def test_birth_year_bounds_follow_this_year(this_year: int, birth_year: int, ok: bool) -> None:
    fields = profile_fields(profile(birth_year=birth_year), this_year=this_year)
    assert fields == ([] if ok else ["profile.birth_year"])


@given(this_year=st.integers(1990, 2200), birth_year=st.integers(1800, 2300))
@FAST
def test_birth_year_property(this_year: int, birth_year: int) -> None:
    ok = 1930 <= birth_year <= this_year - 16
    fields = profile_fields(profile(birth_year=birth_year), this_year=this_year)
    assert fields == ([] if ok else ["profile.birth_year"])


@pytest.mark.parametrize(
    "zone", ["Europe/Paris", "UTC", "America/Argentina/Buenos_Aires", "Asia/Kolkata"]
)
def test_good_time_zones(zone: str) -> None:
    assert profile_fields(profile(time_zone=zone)) == []


@pytest.mark.parametrize(
    "zone",
    ["", "Europe/Pariss", "CET+1", "+02:00", "Paris", "europe/paris", "Europe/../Europe/Paris"],
)
def test_bad_time_zones(zone: str) -> None:
    assert profile_fields(profile(time_zone=zone)) == ["profile.time_zone"]


def test_the_servers_own_zone_alias_is_not_a_time_zone() -> None:
    # /usr/share/zoneinfo/localtime (a symlink to /etc/localtime) is listed by
    # zoneinfo.available_timezones() on Debian; it means "wherever the server runs".
    zone = "localtime"
    assert profile_fields(profile(time_zone=zone)) == ["profile.time_zone"]


# -- profile: languages ----------------------------------------------------------------------------
TEN_LANGUAGES = tuple(f"l{c}" for c in "abcdefghij")


@pytest.mark.parametrize(
    "languages", [("en",), ("fr-CA",), ("zh-Hant-TW", "en"), ("gsw",), TEN_LANGUAGES]
)
def test_good_languages(languages: tuple[str, ...]) -> None:
    assert profile_fields(profile(languages=languages)) == []


@pytest.mark.parametrize(
    ("languages", "fields"),
    [
        ((), ["profile.languages"]),
        ((*TEN_LANGUAGES, "lk"), ["profile.languages"]),
        (("en", "EN"), ["profile.languages"]),
        (("en", "english"), ["profile.languages[1]"]),
        (("e",), ["profile.languages[0]"]),
        (("en_US",), ["profile.languages[0]"]),
        (("en-",), ["profile.languages[0]"]),
        (("en", "fr", "x1"), ["profile.languages[2]"]),
        (("en\n",), ["profile.languages[0]"]),
    ],
)
def test_bad_languages(languages: tuple[str, ...], fields: list[str]) -> None:
    assert profile_fields(profile(languages=languages)) == fields


# -- profile: topics by role -----------------------------------------------------------------------
def test_mentor_offers_skills_and_lists_no_needs() -> None:
    mentor = profile(MENTOR, learning_needs=(LearningNeed("low-code", 1),))
    assert profile_fields(mentor, role=MENTOR) == ["profile.learning_needs"]
    assert profile_fields(profile(MENTOR, skills_offered=()), role=MENTOR) == [
        "profile.skills_offered"
    ]


def test_mentee_lists_needs_and_offers_no_skills() -> None:
    mentee = profile(MENTEE, skills_offered=("low-code",))
    assert profile_fields(mentee, role=MENTEE) == ["profile.skills_offered"]
    assert profile_fields(profile(MENTEE, learning_needs=()), role=MENTEE) == [
        "profile.learning_needs"
    ]


def test_mentor_skill_count_and_repeats() -> None:
    many = tuple(CATALOGUE) * 5 + ("low-code",)  # 21 entries, all in the catalogue
    assert "profile.skills_offered" in profile_fields(profile(skills_offered=many))
    repeated = ("low-code", "generative-ai", "low-code")
    assert profile_fields(profile(skills_offered=repeated)) == ["profile.skills_offered"]


def test_mentor_skills_must_be_in_the_catalogue() -> None:
    skills = ("generative-ai", "quantum", "low-code", "blockchain")
    assert profile_fields(profile(skills_offered=skills)) == [
        "profile.skills_offered[1]",
        "profile.skills_offered[3]",
    ]


def test_mentee_need_count_and_repeats() -> None:
    eleven = tuple(LearningNeed("low-code", 2) for _ in range(11))
    assert "profile.learning_needs" in profile_fields(
        profile(MENTEE, learning_needs=eleven), role=MENTEE
    )
    every_topic = tuple(LearningNeed(code, 1) for code in CATALOGUE)
    assert profile_fields(profile(MENTEE, learning_needs=every_topic), role=MENTEE) == []
    repeated = (LearningNeed("low-code", 1), LearningNeed("low-code", 3))
    assert profile_fields(profile(MENTEE, learning_needs=repeated), role=MENTEE) == [
        "profile.learning_needs"
    ]


def test_mentee_needs_must_be_in_the_catalogue_with_priority_1_to_3() -> None:
    needs = (
        LearningNeed("low-code", 1),
        LearningNeed("quantum", 2),
        LearningNeed("social-media", 0),
        LearningNeed("data-privacy", 4),
        LearningNeed("generative-ai", 3),
    )
    assert profile_fields(profile(MENTEE, learning_needs=needs), role=MENTEE) == [
        "profile.learning_needs[1].topic",
        "profile.learning_needs[2].priority",
        "profile.learning_needs[3].priority",
    ]


def test_mentor_skill_levels_are_optional_and_1_to_3() -> None:
    skills = ("generative-ai", "social-media", "low-code")
    unlevelled = profile(skills_offered=skills)
    assert profile_fields(unlevelled) == []
    levelled = profile(skills_offered=skills, skill_levels=(("generative-ai", 3), ("low-code", 1)))
    assert profile_fields(levelled) == []
    assert levelled.levels() == {"generative-ai": 3, "low-code": 1}


def test_bad_skill_levels_name_every_topic_at_once() -> None:
    bad = profile(
        skills_offered=("generative-ai", "social-media", "low-code"),
        skill_levels=(
            ("generative-ai", 0),
            ("social-media", 2),
            ("data-privacy", 3),  # in the catalogue, but not offered
            ("low-code", 4),
        ),
    )
    v = Violations()
    rules.check_profile(v, MENTOR, bad, CATALOGUE, RULES, THIS_YEAR, "E-1")
    assert [(item.field, item.description) for item in v.items] == [
        ("profile.skill_levels[data-privacy]", "is not an offered skill"),
        ("profile.skill_levels[generative-ai]", "must be 1 (basics) - 3 (expert)"),
        ("profile.skill_levels[low-code]", "must be 1 (basics) - 3 (expert)"),
    ]


def test_an_unoffered_skill_with_a_bad_level_reports_both() -> None:
    bad = profile(skills_offered=("generative-ai",), skill_levels=(("quantum", 9),))
    assert profile_fields(bad) == ["profile.skill_levels[quantum]"] * 2


def test_a_skill_level_key_that_is_not_a_slug_is_quoted_and_cut() -> None:
    key = "Generative AI\n" + "x" * 100
    bad = profile(skills_offered=("generative-ai",), skill_levels=((key, 2),))
    (field,) = profile_fields(bad)
    assert field.startswith("profile.skill_levels['Generative AI\\n")  # no raw newline
    assert field.endswith("...]") and len(field) < 80


def test_mentee_gives_no_skill_levels() -> None:
    mentee = profile(MENTEE, skill_levels=(("social-media", 2),))
    assert profile_fields(mentee, role=MENTEE) == ["profile.skill_levels"]


@given(
    role=st.sampled_from([MENTOR, MENTEE]),
    known=st.lists(st.sampled_from(CATALOGUE), min_size=0, max_size=3, unique=True),
    unknown=st.from_regex(r"\A[a-z][a-z0-9-]{1,20}\Z").filter(lambda c: c not in CATALOGUE),
    position=st.integers(0, 3),
)
@FAST
def test_any_unknown_topic_fails_naming_its_index(
    role: str, known: list[str], unknown: str, position: int
) -> None:
    codes = list(known)
    index = min(position, len(codes))
    codes.insert(index, unknown)
    if role == MENTOR:
        p = profile(MENTOR, skills_offered=tuple(codes))
        expected = [f"profile.skills_offered[{index}]"]
    else:
        p = profile(MENTEE, learning_needs=tuple(LearningNeed(c, 2) for c in codes))
        expected = [f"profile.learning_needs[{index}].topic"]
    assert profile_fields(p, role=role) == expected


# -- profile: availability -------------------------------------------------------------------------
def availability_fields(*windows: AvailabilityWindow, session_minutes: int = 60) -> list[str]:
    return profile_fields(profile(availability=windows), session_minutes=session_minutes)


def test_availability_count_bounds() -> None:
    assert availability_fields() == ["profile.availability"]
    days = [window(d, f"{h:02d}:00", f"{h + 1:02d}:00") for d in range(1, 8) for h in (8, 10, 12)]
    assert availability_fields(*days) == []  # 21 windows
    assert availability_fields(*days, window(1, "18:00", "19:00")) == ["profile.availability"]


SECOND = "profile.availability[1]"


@pytest.mark.parametrize(
    ("bad", "fields"),
    [
        (window(0, "09:00", "10:00"), [f"{SECOND}.weekday"]),
        (window(8, "09:00", "10:00"), [f"{SECOND}.weekday"]),
        (window(3, "9:00", "10:00"), [f"{SECOND}.start_time"]),
        (window(3, "09:00", "24:00"), [f"{SECOND}.end_time"]),
        (window(3, "09:60", "10:00"), [f"{SECOND}.start_time"]),
        (window(3, "", ""), [f"{SECOND}.start_time", f"{SECOND}.end_time"]),
        (window(3, "10:00", "09:00"), [f"{SECOND}.end_time"]),
        (window(3, "10:00", "10:00"), [f"{SECOND}.end_time"]),
        (window(3, "09:00", "10:00\n"), [f"{SECOND}.end_time"]),
        (
            window(9, "x", "y"),
            [f"{SECOND}.{part}" for part in ("weekday", "start_time", "end_time")],
        ),
    ],
)
def test_bad_window_names_its_index_and_part(bad: AvailabilityWindow, fields: list[str]) -> None:
    assert availability_fields(window(1, "09:00", "10:00"), bad) == fields


def test_overlapping_windows_name_the_later_one() -> None:
    assert availability_fields(window(2, "09:00", "10:30"), window(2, "10:00", "11:00")) == [
        "profile.availability[1]"
    ]
    # Sorted by start time, whatever the order they were listed in.
    fields = availability_fields(window(2, "10:00", "11:00"), window(2, "09:00", "10:30"))
    assert fields == ["profile.availability[0]"]


def test_window_inside_another_overlaps() -> None:
    assert availability_fields(window(5, "08:00", "12:00"), window(5, "09:00", "10:00")) == [
        "profile.availability[1]"
    ]


#: 08:00-17:00 contains both 09:00-10:00 and 12:00-13:00: two overlaps.
NESTED = [window(1, "08:00", "17:00"), window(1, "09:00", "10:00"), window(1, "12:00", "13:00")]


def test_window_overlapping_a_long_earlier_window_past_a_short_one_is_reported() -> None:
    fields = availability_fields(*NESTED)
    assert sorted(fields) == ["profile.availability[1]", "profile.availability[2]"]


def test_adjacent_and_other_day_windows_do_not_overlap() -> None:
    assert availability_fields(window(1, "09:00", "10:00"), window(1, "10:00", "11:00")) == []
    assert availability_fields(window(1, "09:00", "10:00"), window(2, "09:00", "10:00")) == []


def test_one_window_must_fit_a_session() -> None:
    assert availability_fields(window(1, "09:00", "10:29"), session_minutes=90) == [
        "profile.availability"
    ]
    assert availability_fields(window(1, "09:00", "10:30"), session_minutes=90) == []
    short_and_long = (window(1, "09:00", "09:30"), window(4, "13:00", "15:00"))
    assert availability_fields(*short_and_long, session_minutes=120) == []


def test_session_fit_is_not_judged_while_a_window_is_invalid() -> None:
    fields = availability_fields(
        window(1, "09:00", "09:30"), window(0, "09:00", "17:00"), session_minutes=60
    )
    assert fields == ["profile.availability[1].weekday"]


def test_all_availability_violations_come_back_at_once() -> None:
    fields = availability_fields(
        window(1, "09:00", "10:00"),
        window(1, "09:30", "10:30"),
        window(8, "10:00", "11:00"),
        window(2, "11:00", "10:00"),
    )
    assert fields == [
        "profile.availability[2].weekday",
        "profile.availability[3].end_time",
        "profile.availability[1]",
    ]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def separate_windows(draw: st.DrawFn) -> list[AvailabilityWindow]:
    """1-21 windows that never overlap (some share a boundary), in any order."""
    windows: list[AvailabilityWindow] = []
    for weekday in draw(st.lists(st.integers(1, 7), min_size=1, max_size=5, unique=True)):
        cuts = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), min_size=2, max_size=8)))
        step = draw(st.sampled_from([1, 2]))  # 1: back-to-back windows, 2: gaps between
        for start, end in zip(cuts[::step], cuts[1::step], strict=False):
            windows.append(window(weekday, _clock(start), _clock(end)))
    return draw(st.permutations(windows[:21]))


@given(windows=separate_windows(), session_minutes=st.integers(60, 120))
@FAST
def test_any_separate_windows_pass_iff_one_fits_a_session(
    windows: list[AvailabilityWindow], session_minutes: int
) -> None:
    fits = any(
        rules._minutes(w.end_time) - rules._minutes(w.start_time) >= session_minutes
        for w in windows
    )
    fields = availability_fields(*windows, session_minutes=session_minutes)
    assert fields == ([] if fits else ["profile.availability"])


windows_strategy = st.lists(
    st.builds(
        lambda day, hour, halves: window(day, f"{hour:02d}:00", _clock(hour * 60 + halves * 30)),
        st.integers(1, 2),
        st.integers(8, 17),  # a working day, so that windows meet often
        st.integers(1, 12),
    ),
    min_size=1,
    max_size=6,
)


@given(windows=windows_strategy)
@example(windows=NESTED)
@settings(max_examples=300, deadline=None)
def test_overlap_is_reported_on_every_window_that_starts_inside_an_earlier_one(
    windows: list[AvailabilityWindow],
) -> None:
    keys = [
        (w.weekday, rules._minutes(w.start_time), rules._minutes(w.end_time), i)
        for i, w in enumerate(windows)
    ]
    expected = {
        later[3]
        for later in keys
        for earlier in keys
        if earlier < later and earlier[0] == later[0] and later[1] < earlier[2]
    }
    v = Violations()
    rules._check_availability(v, tuple(windows), 60)
    flagged = {
        int(x.field.removeprefix("profile.availability[").rstrip("]"))
        for x in v.items
        if "overlaps" in x.description
    }
    assert flagged == expected


# -- withdrawal ------------------------------------------------------------------------------------
@pytest.mark.parametrize("reason", WITHDRAWAL_REASONS)
def test_every_withdrawal_reason_is_accepted(reason: str) -> None:
    v = Violations()
    rules.check_withdrawal(v, reason, "n" * 1000)
    assert v.items == []


def test_bad_withdrawal_reports_reason_and_note_together() -> None:
    v = Violations()
    rules.check_withdrawal(v, "bored", "n" * 1001)
    assert [x.field for x in v.items] == ["reason", "note"]
    v = Violations()
    rules.check_withdrawal(v, "", "")
    assert [x.field for x in v.items] == ["reason"]
