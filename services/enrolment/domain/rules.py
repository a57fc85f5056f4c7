"""Validation rules for programmes and participants.

Every rule names the field it guards and says what is expected, and all
violations are reported at once, so an HR export can be fixed in one pass.
Pure functions: the caller supplies today's year, nothing here reads a clock.
"""

from __future__ import annotations

import contextlib
import re
import zoneinfo
from datetime import date, datetime
from functools import lru_cache

from revmentor.enrolment.domain.profile import (
    MEETING_PREFERENCES,
    MENTEE,
    MENTOR,
    ROLES,
    SKILL_LEVELS,
    WITHDRAWAL_REASONS,
    AvailabilityWindow,
    Consent,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.errors import Violations, shown

# Used with fullmatch: "$" alone would accept a trailing newline.
EMPLOYEE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TOPIC_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

OLDEST_BIRTH_YEAR = 1930
YOUNGEST_WORKING_AGE = 16


#: Names the zone database lists that are not places: the host's own zone and internals.
NOT_PLACES = {"localtime", "posixrules", "Factory"}


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """Real IANA zone names, independent of how the host is configured."""
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in NOT_PLACES and not name.startswith(("posix/", "right/"))
    )


def _text(v: Violations, field: str, value: str, low: int, high: int) -> None:
    size = len(value.strip())
    if v.check(low <= size <= high, field, f"must be {low}-{high} characters (got {size})"):
        v.check(not CONTROL.search(value), field, "must not contain control characters")


def check_programme(
    v: Violations,
    name: str,
    description: str,
    start_date: str,
    end_date: str,
    topics: list[Topic],
    rules: ProgrammeRules,
) -> None:
    _text(v, "name", name, 1, 200)
    v.check(len(description) <= 2000, "description", "must be at most 2000 characters")
    start, end = _date(v, "start_date", start_date), _date(v, "end_date", end_date)
    if start and end:
        v.check(start < end, "end_date", "must be after start_date")
    check_topics(v, topics)
    check_rules(v, rules)


def _date(v: Violations, field: str, value: str) -> date | None:
    if ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):  # e.g. 2027-02-30
            return date.fromisoformat(value)
    v.add(field, f"must be an ISO date YYYY-MM-DD (got {shown(value)})")
    return None


def check_topics(v: Violations, topics: list[Topic]) -> None:
    v.check(1 <= len(topics) <= 100, "topics", "a programme needs 1-100 topics")
    seen: set[str] = set()
    for i, topic in enumerate(topics):
        v.check(
            bool(TOPIC_CODE.fullmatch(topic.code)),
            f"topics[{i}].code",
            "must be a lower-case slug of 2-40 letters, digits or '-'",
        )
        v.check(topic.code not in seen, f"topics[{i}].code", f"duplicate topic {shown(topic.code)}")
        seen.add(topic.code)
        _text(v, f"topics[{i}].title", topic.title, 1, 100)


def check_rules(v: Violations, rules: ProgrammeRules) -> None:
    bounds = {
        "min_age_gap_years": (0, 40),
        "mentor_capacity": (1, 3),
        "planned_sessions": (1, 24),
        "session_minutes": (60, 120),
    }
    for name, (low, high) in bounds.items():
        value = getattr(rules, name)
        v.check(low <= value <= high, f"rules.{name}", f"must be between {low} and {high}")


def check_employee_id(v: Violations, field: str, value: str) -> None:
    v.check(
        bool(EMPLOYEE_ID.fullmatch(value)),
        field,
        "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    )


def check_enrolment(
    v: Violations,
    employee_id: str,
    role: str,
    profile: Profile,
    consent: Consent,
    catalogue: list[str],
    rules: ProgrammeRules,
    this_year: int,
) -> None:
    check_employee_id(v, "employee_id", employee_id)
    if v.check(role in ROLES, "role", "must be mentor or mentee"):
        check_profile(v, role, profile, catalogue, rules, this_year, employee_id)
    v.check(consent.given, "consent.given", "the participant must consent to take part")
    _text(v, "consent.notice_version", consent.notice_version, 1, 32)
    if consent.given_at:
        v.check(
            _is_timestamp(consent.given_at),
            "consent.given_at",
            "must be an RFC 3339 timestamp with a zone, e.g. 2027-01-15T09:30:00Z",
        )


def _is_timestamp(value: str) -> bool:
    if not TIMESTAMP.fullmatch(value):
        return False
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def check_profile(
    v: Violations,
    role: str,
    p: Profile,
    catalogue: list[str],
    rules: ProgrammeRules,
    this_year: int,
    employee_id: str,
) -> None:
    """Plausibility of one profile against the programme's catalogue and rules."""
    _text(v, "profile.display_name", p.display_name, 1, 200)
    v.check(
        len(p.email) <= 254 and bool(EMAIL.fullmatch(p.email)),
        "profile.email",
        "must be an email address like name@example.com",
    )
    youngest = this_year - YOUNGEST_WORKING_AGE
    v.check(
        OLDEST_BIRTH_YEAR <= p.birth_year <= youngest,
        "profile.birth_year",
        f"must be between {OLDEST_BIRTH_YEAR} and {youngest}",
    )
    _text(v, "profile.department", p.department, 1, 100)
    _text(v, "profile.site", p.site, 1, 100)
    if p.manager_employee_id:
        check_employee_id(v, "profile.manager_employee_id", p.manager_employee_id)
        v.check(
            p.manager_employee_id != employee_id,
            "profile.manager_employee_id",
            "a participant cannot be their own manager",
        )
    v.check(
        p.time_zone in time_zones(),
        "profile.time_zone",
        f"must be an IANA time zone such as Europe/Paris (got {shown(p.time_zone)})",
    )
    _check_languages(v, p.languages)
    _check_topics_for_role(v, role, p, catalogue)
    _check_availability(v, p.availability, rules.session_minutes)
    v.check(
        p.meeting_preference in MEETING_PREFERENCES,
        "profile.meeting_preference",
        f"must be one of {', '.join(MEETING_PREFERENCES)}",
    )


def _check_languages(v: Violations, languages: tuple[str, ...]) -> None:
    v.check(1 <= len(languages) <= 10, "profile.languages", "list 1-10 languages")
    lowered = [tag.lower() for tag in languages]
    v.check(len(set(lowered)) == len(lowered), "profile.languages", "must not repeat a language")
    for i, tag in enumerate(languages):
        v.check(
            bool(LANGUAGE_TAG.fullmatch(tag)),
            f"profile.languages[{i}]",
            f"must be a BCP 47 language tag such as en or fr-CA (got {shown(tag)})",
        )


def _check_topics_for_role(v: Violations, role: str, p: Profile, catalogue: list[str]) -> None:
    known = set(catalogue)
    if role == MENTOR:
        v.check(
            1 <= len(p.skills_offered) <= 20,
            "profile.skills_offered",
            "a mentor offers 1-20 topics from the programme's catalogue",
        )
        v.check(not p.learning_needs, "profile.learning_needs", "mentors do not list needs")
        v.check(
            len(set(p.skills_offered)) == len(p.skills_offered),
            "profile.skills_offered",
            "must not repeat a topic",
        )
        for i, code in enumerate(p.skills_offered):
            v.check(
                code in known,
                f"profile.skills_offered[{i}]",
                f"{shown(code)} is not in the programme's topic catalogue",
            )
        _check_skill_levels(v, p)
    if role == MENTEE:
        v.check(
            1 <= len(p.learning_needs) <= 10,
            "profile.learning_needs",
            "a mentee lists 1-10 learning needs from the programme's catalogue",
        )
        v.check(not p.skills_offered, "profile.skills_offered", "mentees do not offer skills")
        v.check(
            not p.skill_levels,
            "profile.skill_levels",
            "mentees do not offer skills, so give no skill levels",
        )
        topics = [n.topic for n in p.learning_needs]
        v.check(
            len(set(topics)) == len(topics), "profile.learning_needs", "must not repeat a topic"
        )
        for i, need in enumerate(p.learning_needs):
            v.check(
                need.topic in known,
                f"profile.learning_needs[{i}].topic",
                f"{shown(need.topic)} is not in the programme's topic catalogue",
            )
            v.check(
                1 <= need.priority <= 3,
                f"profile.learning_needs[{i}].priority",
                "must be 1 (must have), 2 or 3 (nice to have)",
            )


def _check_skill_levels(v: Violations, p: Profile) -> None:
    """Each level names one of the offered skills and is 1 (basics) - 3 (expert)."""
    offered = set(p.skills_offered)
    for topic, level in p.skill_levels:
        # a slug is named as is; anything else is quoted and cut (it is echoed)
        key = topic if TOPIC_CODE.fullmatch(topic) else shown(topic)
        field = f"profile.skill_levels[{key}]"
        v.check(topic in offered, field, "is not an offered skill")
        low, high = SKILL_LEVELS[0], SKILL_LEVELS[-1]
        v.check(low <= level <= high, field, f"must be {low} (basics) - {high} (expert)")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _check_availability(
    v: Violations, windows: tuple[AvailabilityWindow, ...], session_minutes: int
) -> None:
    if not v.check(1 <= len(windows) <= 21, "profile.availability", "list 1-21 weekly windows"):
        return
    spans: list[tuple[int, int, int, int]] = []  # weekday, start, end, index
    for i, w in enumerate(windows):
        field = f"profile.availability[{i}]"
        ok = v.check(1 <= w.weekday <= 7, f"{field}.weekday", "must be 1 (Monday) to 7 (Sunday)")
        ok &= v.check(bool(CLOCK.fullmatch(w.start_time)), f"{field}.start_time", "must be HH:MM")
        ok &= v.check(bool(CLOCK.fullmatch(w.end_time)), f"{field}.end_time", "must be HH:MM")
        if ok and v.check(
            _minutes(w.start_time) < _minutes(w.end_time),
            f"{field}.end_time",
            "must be after start_time",
        ):
            spans.append((w.weekday, _minutes(w.start_time), _minutes(w.end_time), i))
    spans.sort()
    latest: dict[int, tuple[int, int]] = {}  # weekday -> (latest end so far, its index)
    for weekday, start, end, index in spans:
        previous = latest.get(weekday)
        if previous is not None:
            v.check(
                start >= previous[0],
                f"profile.availability[{index}]",
                f"overlaps availability[{previous[1]}]",
            )
        if previous is None or end > previous[0]:
            latest[weekday] = (end, index)
    if spans and len(spans) == len(windows):
        v.check(
            any(end - start >= session_minutes for _, start, end, _ in spans),
            "profile.availability",
            f"at least one window must fit a {session_minutes}-minute session",
        )


def check_withdrawal(v: Violations, reason: str, note: str) -> None:
    v.check(
        reason in WITHDRAWAL_REASONS, "reason", f"must be one of {', '.join(WITHDRAWAL_REASONS)}"
    )
    v.check(len(note) <= 1000, "note", "must be at most 1000 characters")


MAX_ERASURE_REASON = 500


def check_erasure(v: Violations, reason: str) -> None:
    """An erasure says why (a ticket or legal basis, not the person's name)."""
    v.check(
        len(reason.strip()) > 0 and len(reason) <= MAX_ERASURE_REASON,
        "reason",
        f"must be 1-{MAX_ERASURE_REASON} characters",
    )
