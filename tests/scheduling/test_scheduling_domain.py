"""Scheduling's rules, one by one: time zones and daylight saving, session
shape, the programme's dates, the pair's minimum gap, double bookings,
attendance and disputes, reminders and stalls once, slot suggestions - and
the application's race on a shared mentor's diary (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import (
    ConcurrencyConflict,
    IllegalTransition,
    ValidationFailed,
    Violations,
)
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.domain import rules, slots, times
from revmentor.scheduling.domain.diary import Diary, DoubleBooked
from revmentor.scheduling.domain.mentorship import Mentorship
from revmentor.scheduling.domain.rules import Slot

PARIS = ZoneInfo("Europe/Paris")
TORONTO = ZoneInfo("America/Toronto")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def slot(local: str, zone: str = "Europe/Paris", minutes: int = 60) -> Slot:
    v = Violations()
    found = rules.check_when(v, local, zone, minutes, (30, 240))
    v.raise_if_any()
    assert found is not None
    return found


# -- time zones and daylight saving ----------------------------------------------------------
def test_ten_oclock_in_paris_stays_ten_oclock_across_the_spring_switch() -> None:
    before = times.to_utc(datetime(2027, 3, 22, 10, 0), PARIS)
    after = times.to_utc(datetime(2027, 3, 29, 10, 0), PARIS)
    assert before == utc(2027, 3, 22, 9, 0)  # CET, UTC+1
    assert after == utc(2027, 3, 29, 8, 0)  # CEST, UTC+2
    assert times.local_text(after, PARIS) == "2027-03-29T10:00"


def test_a_skipped_local_time_is_refused_and_an_ambiguous_one_is_the_first() -> None:
    with pytest.raises(times.NonexistentLocalTime) as skipped:
        times.to_utc(datetime(2027, 3, 28, 2, 30), PARIS)
    assert skipped.value.violations[0].field == "local_start"
    assert "does not exist in Europe/Paris" in str(skipped.value)
    first = times.to_utc(datetime(2027, 10, 31, 2, 30), PARIS)  # clocks fall back at 03:00
    assert first == utc(2027, 10, 31, 0, 30)


@pytest.mark.parametrize(
    "name", ["Europe", "posixrules", "Factory", "../../etc/passwd", "x" * 300, " Europe/Paris"]
)
def test_only_iana_zone_names_are_zones(name: str) -> None:
    with pytest.raises(ValidationFailed) as bad:
        times.zone(name)
    assert bad.value.violations[0].field == "time_zone"


def test_far_years_are_refused_not_overflowed() -> None:
    v = Violations()
    assert rules.check_when(v, "9999-12-31T23:30", "America/Montreal", 60, (60, 120)) is None
    assert [x.field for x in v.items] == ["local_start"]
    with pytest.raises(ValidationFailed) as early:
        times.parse_stamp("0001-01-01T00:00:00+01:00", "not_before")
    assert early.value.violations[0].field == "not_before"


def test_time_fields_name_themselves() -> None:
    v = Violations()
    assert rules.check_when(v, "29/03/2027 10:00", "Mars/Olympus", 300, (60, 120)) is None
    assert {x.field for x in v.items} == {"duration_minutes", "time_zone", "local_start"}
    v = Violations()
    assert rules.check_when(v, "2027-03-29 10h", "Europe/Paris", 60, (60, 120)) is None
    assert [x.field for x in v.items] == ["local_start"]


# -- shape of a session ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "location", "link", "fields"),
    [
        ("", "", "", ["mode"]),
        ("in_person", "", "", ["location"]),
        ("in_person", "HQ", "https://meet.example/x", ["meeting_link"]),
        ("virtual", "", "http://meet.example/x", ["meeting_link"]),
        ("virtual", "HQ", "https://meet.example/x", ["location"]),
        ("virtual", "", "https://meet.example/x", []),
        ("in_person", "Paris HQ, room 4.2", "", []),
        ("virtual", "", "https://meet.example/a\r\nBEGIN:VEVENT", ["meeting_link"]),
        ("virtual", "", "https://meet.example/a b", ["meeting_link"]),
        ("in_person", "HQ\x07", "", ["location"]),
    ],
)
def test_place_rules(mode: str, location: str, link: str, fields: list[str]) -> None:
    v = Violations()
    rules.check_place(v, mode, location, link)
    assert [x.field for x in v.items] == fields


def test_agenda_and_reason_rules() -> None:
    v = Violations()
    rules.check_agenda(v, "x" * 2001)
    rules.check_agenda(v, "bell\x07")
    rules.check_reason(v, "no")
    assert [x.field for x in v.items] == ["agenda", "agenda", "reason"]


# -- the calendar rules --------------------------------------------------------------------------
def test_not_in_the_past() -> None:
    booked = slot("2027-03-29T10:00")
    rules.require_future(booked, utc(2027, 3, 29, 7, 59))
    with pytest.raises(IllegalTransition, match="in the past"):
        rules.require_future(booked, utc(2027, 3, 29, 8, 0))


def test_within_the_programme_dates_in_the_zone_it_was_booked_in() -> None:
    """23:30-00:30 in Paris ends on the next local day; the same instant booked
    in Toronto (17:30-18:30) does not: one is outside a programme ending that
    day, the other inside."""
    paris = slot("2027-02-10T23:30", "Europe/Paris")
    toronto = slot("2027-02-10T17:30", "America/Toronto")
    assert (paris.start, paris.end) == (toronto.start, toronto.end)
    rules.require_within(toronto, "2027-01-11", "2027-02-10")
    with pytest.raises(IllegalTransition, match="outside the programme's dates"):
        rules.require_within(paris, "2027-01-11", "2027-02-10")
    with pytest.raises(IllegalTransition):
        rules.require_within(slot("2027-01-10T10:00"), "2027-01-11", "2027-06-30")
    rules.require_within(slot("2027-01-10T10:00"), "", "")  # dates not known yet


def test_minimum_gap_between_two_sessions_of_a_pair() -> None:
    first = slot("2027-03-01T10:00")
    others = [(first.start, first.end)]
    rules.require_gap(slot("2027-03-08T10:00"), others, 6)
    rules.require_gap(slot("2027-02-22T10:00"), others, 6)
    with pytest.raises(IllegalTransition, match="at least 6 days apart"):
        rules.require_gap(slot("2027-03-05T10:00"), others, 6)
    rules.require_gap(slot("2027-03-01T11:00"), others, 0)  # back to back, gap 0


# -- diaries: nobody double-booked -----------------------------------------------------------------
def test_a_diary_refuses_overlaps_and_accepts_neighbours() -> None:
    diary = Diary(participant_id="p")
    first = slot("2027-03-01T10:00")
    diary.book("s1", first.start, first.end, "mentor")
    diary.book("s2", first.end, first.end + timedelta(hours=1), "mentor")  # adjacent
    diary.book("s1", first.start, first.end, "mentor")  # the same session again
    overlapping = slot("2027-03-01T10:30")
    with pytest.raises(DoubleBooked, match="the mentor is already booked"):
        diary.book("s3", overlapping.start, overlapping.end, "mentor")
    assert diary.release("s1") and not diary.release("s1")
    diary.book("s3", overlapping.start, overlapping.end - timedelta(minutes=30), "mentor")


# -- the mentorship ---------------------------------------------------------------------
def mentorship(planned: int = 2) -> Mentorship:
    return Mentorship(
        programme_id=uuid4(),
        match_id=str(uuid4()),
        mentee_id="mentee",
        mentor_id="mentor",
        planned_sessions=planned,
        opened_at="2027-02-01T00:00:00Z",
    )


def test_reschedule_and_cancel_bump_the_sequence() -> None:
    m = mentorship()
    sid = m.schedule(slot("2027-03-01T10:00"), "virtual", "", "https://x.example", "", "mentee")
    m.reschedule(sid, slot("2027-03-02T10:00"), "mentor")
    assert m.sessions[sid]["sequence"] == 1
    assert m.sessions[sid]["local_start"] == "2027-03-02T10:00"
    m.cancel(sid, "mentor", "mentor", "ill")
    assert m.sessions[sid]["status"] == "cancelled" and m.sessions[sid]["sequence"] == 2
    with pytest.raises(IllegalTransition, match="is cancelled"):
        m.reschedule(sid, slot("2027-03-03T10:00"), "mentor")


def test_attendance_after_the_start_disputes_and_completion() -> None:
    m = mentorship(planned=2)
    first = m.schedule(slot("2027-03-01T10:00"), "virtual", "", "https://x.example", "", "mentee")
    second = m.schedule(slot("2027-03-08T10:00"), "virtual", "", "https://x.example", "", "mentee")
    with pytest.raises(IllegalTransition, match="once it has started"):
        m.record_attendance(first, "held", "mentee", "mentee", utc(2027, 3, 1, 8, 59))
    m.record_attendance(first, "held", "mentee", "mentee", utc(2027, 3, 1, 10, 0))
    with pytest.raises(IllegalTransition, match="only the other member"):
        m.dispute(first, "mentee", "I was there")
    m.dispute(first, "mentor", "we never met")
    assert m.sessions[first]["status"] == "disputed" and m.held == 0
    m.record_attendance(first, "held", "pm", "programme_manager", utc(2027, 3, 2))  # settled
    with pytest.raises(IllegalTransition, match="programme manager"):
        m.dispute(first, "mentor", "still no")
    m.record_attendance(second, "held", "mentor", "mentor", utc(2027, 3, 8, 10))
    assert m.held == 2 and m.status == "completed"


def test_ending_cancels_only_future_sessions() -> None:
    m = mentorship()
    past = m.schedule(slot("2027-03-01T10:00"), "virtual", "", "https://x.example", "", "mentee")
    future = m.schedule(slot("2027-03-15T10:00"), "virtual", "", "https://x.example", "", "mentee")
    cancelled = m.end("dissolved", utc(2027, 3, 10))
    assert cancelled == [future]
    assert m.sessions[past]["status"] == "scheduled" and m.sessions[future]["status"] == "cancelled"
    assert m.status == "ended" and m.end("dissolved", utc(2027, 3, 11)) == []
    with pytest.raises(IllegalTransition, match="has ended"):
        m.schedule(slot("2027-03-20T10:00"), "virtual", "", "https://x.example", "", "mentee")


def test_a_reminder_once_per_time_and_only_within_the_lead() -> None:
    m = mentorship()
    sid = m.schedule(slot("2027-03-10T10:00"), "virtual", "", "https://x.example", "", "mentee")
    lead = timedelta(hours=24)
    assert not m.remind(sid, utc(2027, 3, 9, 8, 0), lead)  # 25 h before
    assert m.remind(sid, utc(2027, 3, 9, 9, 30), lead)
    assert not m.remind(sid, utc(2027, 3, 9, 10, 0), lead)  # already reminded
    m.reschedule(sid, slot("2027-03-11T10:00"), "mentor")
    assert m.remind(sid, utc(2027, 3, 10, 12, 0), lead)  # the new time gets its own
    assert not m.remind(sid, utc(2027, 3, 11, 9, 30), lead)  # started


def test_a_stall_is_flagged_once_and_cleared_by_a_held_session() -> None:
    m = mentorship(planned=6)
    after = timedelta(days=42)
    assert not m.flag_stall(utc(2027, 3, 14), after)
    assert m.flag_stall(utc(2027, 3, 15), after)
    assert not m.flag_stall(utc(2027, 3, 16), after)
    sid = m.schedule(slot("2027-03-20T10:00"), "virtual", "", "https://x.example", "", "mentee")
    m.record_attendance(sid, "held", "mentee", "mentee", utc(2027, 3, 20, 10))
    assert not m.stalled
    assert m.flag_stall(utc(2027, 5, 2), after)  # a new stall, flagged again


# -- slot suggestions -----------------------------------------------------------------------------
def test_suggestions_keep_local_hours_across_dst_and_spread_over_days() -> None:
    mondays = [slots.Window(1, "10:00", "12:00")]
    found = slots.suggest(
        (mondays, PARIS),
        (mondays, PARIS),
        busy=[],
        pair_sessions=[],
        duration=timedelta(hours=1),
        min_gap=timedelta(0),
        not_before=utc(2027, 3, 20),
        last_day=date(2027, 4, 10),
        count=3,
    )
    assert [times.local_text(s, PARIS) for s, _ in found] == [
        "2027-03-22T10:00",
        "2027-03-29T10:00",
        "2027-04-05T10:00",
    ]
    assert found[0][0] == utc(2027, 3, 22, 9) and found[1][0] == utc(2027, 3, 29, 8)


def test_suggestions_cross_zones_and_avoid_busy_time_and_the_pairs_gap() -> None:
    mentee = ([slots.Window(1, "18:00", "22:00")], TORONTO)  # Monday evening in Toronto
    mentor = ([slots.Window(2, "00:00", "04:00")], PARIS)  # = Tuesday night in Paris
    busy = [(utc(2027, 2, 2, 0, 0), utc(2027, 2, 2, 1, 0))]  # mentee's 19:00-20:00 EST
    pair = [(utc(2027, 2, 9, 0, 0), utc(2027, 2, 9, 1, 0))]  # a pair session the next week
    found = slots.suggest(
        mentee,
        mentor,
        busy,
        pair,
        timedelta(hours=1),
        timedelta(days=6),
        utc(2027, 2, 1),
        date(2027, 2, 28),
        count=2,
    )
    # 1 Feb 23:00Z is 18:00 EST Monday and 00:00 CET Tuesday, just before the
    # mentee's busy hour; the 8 Feb evening touches the pair's 9 Feb session
    # (less than 6 days apart); 15 Feb 23:00Z is 6 days 22 hours after it.
    assert found == [
        (utc(2027, 2, 1, 23, 0), utc(2027, 2, 2, 0, 0)),
        (utc(2027, 2, 15, 23, 0), utc(2027, 2, 16, 0, 0)),
    ]


# -- the application: a shared mentor's diary under a race ---------------------------------
@pytest.fixture
def clock() -> list[datetime]:
    return [utc(2027, 2, 1, 9, 0)]


@pytest.fixture
def app(store: dict[str, str], clock: list[datetime]) -> Any:
    application = SchedulingApplication(env=store, clock=lambda: clock[0])
    yield application
    application.close()


def two_mentorships_of_one_mentor(app: SchedulingApplication) -> tuple[str, str]:
    programme_id = uuid4()
    programme = app.programme_of(programme_id)
    programme.record_facts("2027-01-11", "2027-06-30", 6)
    app.save(programme)
    ids = []
    for mentee in ("mentee-a", "mentee-b"):
        match_id = str(uuid4())
        app.save(*app.open_mentorship(match_id, programme_id, mentee, "mentor"))
        found = app.find_mentorship_of_match(match_id)
        assert found is not None
        ids.append(str(found.id))
    return ids[0], ids[1]


def book(app: SchedulingApplication, mentorship_id: str, local: str) -> str:
    _, session_id = app.schedule_session(
        mentorship_id, local, "Europe/Paris", 60, "virtual", meeting_link="https://x.example"
    )
    return session_id


def test_a_mentor_with_two_mentees_is_never_double_booked(app: SchedulingApplication) -> None:
    first, second = two_mentorships_of_one_mentor(app)
    book(app, first, "2027-03-01T10:00")
    with pytest.raises(DoubleBooked, match="the mentor is already booked"):
        book(app, second, "2027-03-01T10:30")
    book(app, second, "2027-03-01T11:00")  # right after: fine
    assert len(app.diary("mentor").busy) == 2


def test_two_bookings_at_once_for_one_mentor_exactly_one_wins(app: SchedulingApplication) -> None:
    first, second = two_mentorships_of_one_mentor(app)
    barrier = threading.Barrier(2)
    load = app.diary

    def diary_after_both_loaded(participant_id: str) -> Diary:
        found = load(participant_id)
        if participant_id == "mentor":
            barrier.wait(timeout=10)
        return found

    app.diary = diary_after_both_loaded  # type: ignore[method-assign]
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(book, app, mid, "2027-03-01T10:00") for mid in (first, second)]
    outcomes = [f.exception() or f.result() for f in futures]
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrencyConflict) for o in outcomes) == 1
    app.diary = load  # type: ignore[method-assign]
    assert len(app.diary("mentor").busy) == 1
    booked = [app.mentorship(m).sessions for m in (first, second)]
    assert sum(len(s) for s in booked) == 1, "the loser wrote nothing"


def test_log_past_session_replay_and_erasure(
    app: SchedulingApplication, clock: list[datetime]
) -> None:
    first, _ = two_mentorships_of_one_mentor(app)
    clock[0] = utc(2027, 3, 10, 9, 0)
    with pytest.raises(IllegalTransition, match="in the future"):
        app.log_past_session(
            first, "2027-03-11T10:00", "Europe/Paris", 60, "virtual", "", "https://x.example"
        )
    mentorship, sid = app.log_past_session(
        first,
        "2027-03-08T10:00",
        "Europe/Paris",
        60,
        "in_person",
        "Paris HQ",
        "",
        "AI prompts",
        by="mentee-a",
        by_role="mentee",
    )
    assert mentorship.sessions[sid]["status"] == "held" and mentorship.held == 1
    with pytest.raises(ValidationFailed) as bad:
        app.cancel_session(first, sid, "", "mentee-a", "mentee")
    assert bad.value.violations[0].field == "reason"
    live = app.views.digest()
    assert app.rebuild_read_model().digest() == live
    app.erase_participant("mentee-a")
    erased = app.mentorship(first).sessions[sid]
    assert erased["agenda"] == ERASED and erased["location"] == ERASED
    assert erased["status"] == "held" and app.rebuild_read_model().digest() == live


def test_nothing_is_recorded_on_a_mentorship_whose_member_was_erased(
    app: SchedulingApplication,
) -> None:
    first, _ = two_mentorships_of_one_mentor(app)
    sid = book(app, first, "2027-03-01T10:00")
    app.erase_participant("mentee-a")
    with pytest.raises(IllegalTransition, match="was erased"):
        app.cancel_session(first, sid, "cannot make it", "mentor", "mentor")


def test_suggestions_west_of_utc_start_on_the_programmes_first_local_day(
    app: SchedulingApplication, clock: list[datetime]
) -> None:
    """Montreal mornings and evenings; the programme starts 1 March: the first
    suggestion is on 1 March in Montreal, not the evening before (UTC midnight)."""
    programme_id = uuid4()
    programme = app.programme_of(programme_id)
    programme.record_facts("2027-03-01", "2027-06-30", 6)
    app.save(programme)
    windows = [(d, "07:00", "09:00") for d in range(1, 8)] + [
        (d, "19:00", "21:00") for d in range(1, 8)
    ]
    zone = {"time_zone": "America/Montreal", "availability": windows}
    app.attributes = lambda ids: {pid: zone for pid in ids}
    app.save(*app.open_mentorship("m-west", programme_id, "mentee-w", "mentor-w"))
    found = app.find_mentorship_of_match("m-west")
    assert found is not None
    clock[0] = utc(2027, 2, 20)
    suggested, shown = app.suggest_slots(str(found.id), count=2, time_zone="America/Montreal")
    assert shown == "America/Montreal"
    local = [times.local_text(s, ZoneInfo(shown)) for s, _ in suggested]
    assert local[0].startswith("2027-03-01T07:00")
    for start, end in suggested:
        rules.require_within(
            Slot(start, end, times.local_text(start, ZoneInfo(shown)), shown),
            "2027-03-01",
            "2027-06-30",
        )


def test_a_rescheduled_session_is_published_with_its_mode() -> None:
    from revmentor.scheduling.integration import translate

    m = mentorship()
    sid = m.schedule(slot("2027-03-01T10:00"), "virtual", "", "https://x.example", "", "mentee")
    m.reschedule(sid, slot("2027-03-02T10:00"), "mentor")
    published = translate(m.collect_events()[-1])
    assert published is not None and published.message.mode == "virtual"
    assert published.message.rescheduled and published.message.sequence == 1


def test_late_planned_sessions_can_complete_a_mentorship_at_once() -> None:
    m = mentorship(planned=6)
    sid = m.schedule(slot("2027-03-01T10:00"), "virtual", "", "https://x.example", "", "mentee")
    m.record_attendance(sid, "held", "mentee", "mentee", utc(2027, 3, 1, 10))
    assert m.status == "active"
    assert m.plan(1, utc(2027, 3, 2)) and m.status == "completed"
    assert not m.plan(1, utc(2027, 3, 3))
