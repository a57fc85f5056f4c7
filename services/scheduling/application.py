"""The scheduling application: mentorships, sessions, reminders, stalls, calendars.

Booking a session (schedule, reschedule) saves the mentorship and both
members' diaries in one transaction; releasing one (cancel, no-show, end)
does the same. Two bookings racing for the same person therefore meet on that
person's diary version: one wins, the other is ``ConcurrencyConflict``
(ABORTED) with nothing written. Weekly availability for slot suggestions is
asked of enrolment at the moment of use (``attributes``) and never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from revmentor.kernel.application import ServiceApplication, expect_version
from revmentor.kernel.attributes import AttributesUnavailable
from revmentor.kernel.context import RequestContext, acting_as, current
from revmentor.kernel.errors import ConcurrencyConflict, IllegalTransition, NotFound, Violations
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel
from revmentor.scheduling.domain import mentorship as ms
from revmentor.scheduling.domain import rules, slots, times
from revmentor.scheduling.domain.diary import Diary, diary_key
from revmentor.scheduling.domain.mentorship import Mentorship, mentorship_key
from revmentor.scheduling.domain.programme import (
    SchedulingProgramme,
    changed_policy,
    programme_key,
)
from revmentor.scheduling.readmodel import SchedulingReadModel

log = logging.getLogger(__name__)

AttributeSource = Callable[[Sequence[str]], Mapping[str, Mapping[str, Any]]]

#: Who records reminders and stalls (the actor of those events).
REMINDER_ACTOR = "service:scheduling-reminders"
STALL_ACTOR = "service:scheduling-stalls"
SLOT_COUNT = (1, 20)

__all__ = ["AttributesUnavailable", "SchedulingApplication"]


def _no_source(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
    raise AttributesUnavailable("no enrolment client configured for availability")


class SchedulingApplication(ServiceApplication):
    name = "scheduling"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        attributes: AttributeSource | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self.attributes: AttributeSource = attributes or _no_source
        self.clock = clock or (lambda: datetime.now(UTC))

    def construct_read_model(self) -> ReadModel:
        return SchedulingReadModel()

    @property
    def views(self) -> SchedulingReadModel:
        self.catch_up()
        assert isinstance(self.read_model, SchedulingReadModel)
        return self.read_model

    # -- loading -----------------------------------------------------------------------
    def find_programme(self, programme_id: UUID) -> SchedulingProgramme | None:
        found: SchedulingProgramme | None = self.get_as(
            programme_key(programme_id), SchedulingProgramme
        )
        return found

    def programme_of(self, programme_id: UUID) -> SchedulingProgramme:
        """The programme, registered on first sight (consumers)."""
        return self.find_programme(programme_id) or SchedulingProgramme(programme_id=programme_id)

    def programme(self, programme_id: str) -> SchedulingProgramme:
        found = self.find_programme(parse_id("programme_id", programme_id))
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def mentorship(self, mentorship_id: str) -> Mentorship:
        found: Mentorship | None = self.get_as(parse_id("mentorship_id", mentorship_id), Mentorship)
        if found is None:
            raise NotFound(f"mentorship {mentorship_id} not found")
        return found

    def find_mentorship_of_match(self, match_id: str) -> Mentorship | None:
        found: Mentorship | None = self.get_as(mentorship_key(match_id), Mentorship)
        return found

    def diary(self, participant_id: str) -> Diary:
        found: Diary | None = self.get_as(diary_key(participant_id), Diary)
        return found or Diary(participant_id=participant_id)

    def _at(self, mentorship_id: str, expected_version: int) -> Mentorship:
        record = self.mentorship(mentorship_id)
        expect_version(record, expected_version, "mentorship")
        return record

    # -- policy ----------------------------------------------------------------------
    def set_policy(
        self, programme_id: str, change: dict[str, int | None], expected_version: int = 0
    ) -> SchedulingProgramme:
        programme = self.programme(programme_id)
        expect_version(programme, expected_version, "programme")
        new = changed_policy(programme.policy, change)
        if new != programme.policy:
            programme.change_policy(new)
            self.save(programme)
        return programme

    # -- consumed facts ----------------------------------------------------------------------
    def open_mentorship(
        self, match_id: str, programme_id: UUID, mentee_id: str, mentor_id: str
    ) -> list[Any]:
        """What a confirmed match causes (nothing if already opened)."""
        if self.find_mentorship_of_match(match_id) is not None:
            return []
        registered = self.find_programme(programme_id)
        programme = registered or SchedulingProgramme(programme_id=programme_id)
        mentorship = Mentorship(
            programme_id=programme_id,
            match_id=match_id,
            mentee_id=mentee_id,
            mentor_id=mentor_id,
            planned_sessions=programme.planned_sessions,
            opened_at=times.stamp(self.clock()),
        )
        return [mentorship] if registered else [programme, mentorship]

    def replan_mentorships(self, programme: SchedulingProgramme) -> list[Mentorship]:
        """Mentorships opened before the programme's facts were known adopt its
        planned number of sessions (what a late ``ProgrammeCreated`` causes)."""
        pid = str(programme.programme_id)
        changed = []
        for view in self.query(lambda m: m.mentorships_of_programme(pid)):
            record = self.mentorship(view["mentorship_id"])
            if record.plan(programme.planned_sessions, self.clock()):
                changed.append(record)
        return changed

    def end_mentorship(
        self,
        match_id: str,
        outcome: str,
        pair: tuple[UUID, str, str] | None = None,
    ) -> list[Any]:
        """What an ended match causes: future sessions cancelled, diaries freed.

        ``pair`` (programme, mentee, mentor): when no mentorship was opened -
        its confirmation was dead-lettered and not replayed yet - it is opened
        and ended at once, so a confirmation replayed later opens nothing.
        """
        opened: list[Any] = []
        mentorship = self.find_mentorship_of_match(match_id)
        if mentorship is None and pair is not None:
            opened = self.open_mentorship(match_id, *pair)
            mentorship = next((x for x in opened if isinstance(x, Mentorship)), None)
        if mentorship is None or mentorship.status == ms.ENDED:
            return []
        cancelled = mentorship.end(outcome, self.clock())
        diaries = self._release(mentorship, cancelled)
        others = [x for x in opened if not isinstance(x, Mentorship)]
        return [*others, mentorship, *diaries]

    def erase_participant(self, participant_id: str) -> None:
        """Crypto-shred agendas, places and reasons of every mentorship they were in."""
        for mentorship_id in self.query(lambda m: m.mentorship_ids_of(participant_id)):
            self.keys.destroy(mentorship_id)
        self.keys.destroy(participant_id)

    # -- sessions -----------------------------------------------------------------------------
    def log_past_session(
        self,
        mentorship_id: str,
        local_start: str,
        time_zone: str,
        duration_minutes: int,
        mode: str,
        location: str = "",
        meeting_link: str = "",
        agenda: str = "",
        by: str = "",
        by_role: str = "",
        expected_version: int = 0,
    ) -> tuple[Mentorship, str]:
        """Record a session that already took place: booked and held in one save."""
        return self.schedule_session(
            mentorship_id,
            local_start,
            time_zone,
            duration_minutes,
            mode,
            location,
            meeting_link,
            agenda,
            by,
            expected_version,
            held_by_role=by_role or ms.MANAGER,
        )

    def schedule_session(
        self,
        mentorship_id: str,
        local_start: str,
        time_zone: str,
        duration_minutes: int,
        mode: str,
        location: str = "",
        meeting_link: str = "",
        agenda: str = "",
        by: str = "",
        expected_version: int = 0,
        held_by_role: str = "",
    ) -> tuple[Mentorship, str]:
        """Book a session; returns the mentorship and the new session's id.

        ``held_by_role`` set: the session already took place (``log_past_session``):
        it must lie in the past and is recorded as held by ``by`` in the same save.
        """
        mentorship = self._at(mentorship_id, expected_version)
        programme = self.programme_of(mentorship.programme_id)
        v = Violations()
        slot = rules.check_when(v, local_start, time_zone, duration_minutes, _bounds(programme))
        rules.check_place(v, mode, location, meeting_link)
        rules.check_agenda(v, agenda)
        v.raise_if_any()
        assert slot is not None
        self._require_bookable(mentorship, programme, slot, "", past=bool(held_by_role))
        session_id = mentorship.schedule(
            slot, mode, location.strip(), meeting_link.strip(), agenda.strip(), by
        )
        if held_by_role:
            mentorship.record_attendance(session_id, ms.HELD, by, held_by_role, self.clock())
        diaries = self._book(mentorship, session_id, slot)
        self.save(mentorship, *diaries)
        return mentorship, session_id

    def reschedule_session(
        self,
        mentorship_id: str,
        session_id: str,
        local_start: str,
        time_zone: str,
        duration_minutes: int = 0,
        by: str = "",
        expected_version: int = 0,
    ) -> Mentorship:
        mentorship = self._at(mentorship_id, expected_version)
        session = mentorship.session(session_id)
        programme = self.programme_of(mentorship.programme_id)
        minutes = duration_minutes or _minutes(session)
        v = Violations()
        slot = rules.check_when(v, local_start, time_zone, minutes, _bounds(programme))
        v.raise_if_any()
        assert slot is not None
        self._require_bookable(mentorship, programme, slot, session_id)
        mentorship.reschedule(session_id, slot, by)
        diaries = self._book(mentorship, session_id, slot)
        self.save(mentorship, *diaries)
        return mentorship

    def cancel_session(
        self,
        mentorship_id: str,
        session_id: str,
        reason: str,
        by: str,
        by_role: str,
        expected_version: int = 0,
    ) -> Mentorship:
        v = Violations()
        rules.check_reason(v, reason)
        v.raise_if_any()
        mentorship = self._at(mentorship_id, expected_version)
        self._require_not_erased(mentorship, "cancel a session")
        mentorship.cancel(session_id, by, by_role, reason.strip())
        self.save(mentorship, *self._release(mentorship, [session_id]))
        return mentorship

    def record_attendance(
        self,
        mentorship_id: str,
        session_id: str,
        attendance: str,
        by: str,
        by_role: str,
        expected_version: int = 0,
    ) -> Mentorship:
        v = Violations()
        v.check(attendance in (ms.HELD, ms.NO_SHOW), "attendance", "must be held or no_show")
        v.raise_if_any()
        mentorship = self._at(mentorship_id, expected_version)
        mentorship.record_attendance(session_id, attendance, by, by_role, self.clock())
        freed = self._release(mentorship, [session_id]) if attendance == ms.NO_SHOW else []
        self.save(mentorship, *freed)
        return mentorship

    def dispute_attendance(
        self, mentorship_id: str, session_id: str, reason: str, by: str, expected_version: int = 0
    ) -> Mentorship:
        v = Violations()
        rules.check_reason(v, reason)
        v.raise_if_any()
        mentorship = self._at(mentorship_id, expected_version)
        self._require_not_erased(mentorship, "dispute an attendance")
        mentorship.dispute(session_id, by, reason.strip())
        self.save(mentorship)
        return mentorship

    def _require_not_erased(self, mentorship: Mentorship, doing: str) -> None:
        """A member was erased: the mentorship's key is gone and nothing new can
        be sealed with it (reasons are sealed), so nothing more is recorded."""
        if self.keys.is_destroyed(str(mentorship.id)):
            raise IllegalTransition(
                f"a member of mentorship {mentorship.id} was erased: cannot {doing}"
            )

    def _require_bookable(
        self,
        mentorship: Mentorship,
        programme: SchedulingProgramme,
        slot: rules.Slot,
        session_id: str,
        past: bool = False,
    ) -> None:
        if past:
            rules.require_past(slot, self.clock())
        else:
            rules.require_future(slot, self.clock())
        rules.require_within(slot, programme.start_date, programme.end_date)
        rules.require_gap(
            slot,
            mentorship.booked_intervals(except_id=session_id),
            int(programme.policy["min_gap_days"]),
        )

    def _book(self, mentorship: Mentorship, session_id: str, slot: rules.Slot) -> list[Diary]:
        diaries = []
        for who, pid in (("mentee", mentorship.mentee_id), ("mentor", mentorship.mentor_id)):
            diary = self.diary(pid)
            diary.book(session_id, slot.start, slot.end, who)
            diaries.append(diary)
        return diaries

    def _release(self, mentorship: Mentorship, session_ids: Sequence[str]) -> list[Diary]:
        diaries = []
        for pid in (mentorship.mentee_id, mentorship.mentor_id):
            diary = self.diary(pid)
            if any([diary.release(sid) for sid in session_ids]):
                diaries.append(diary)
        return diaries

    # -- suggestions ---------------------------------------------------------------------------
    def suggest_slots(
        self,
        mentorship_id: str,
        count: int = 5,
        duration_minutes: int = 0,
        not_before: str = "",
        time_zone: str = "",
    ) -> tuple[list[tuple[datetime, datetime]], str]:
        """(slots, zone name they should be shown in)."""
        mentorship = self.mentorship(mentorship_id)
        programme = self.programme_of(mentorship.programme_id)
        low, high = _bounds(programme)
        minutes = duration_minutes or low
        v = Violations()
        v.check(SLOT_COUNT[0] <= count <= SLOT_COUNT[1], "count", "must be 1-20")
        v.check(low <= minutes <= high, "duration_minutes", f"must be {low}-{high} minutes")
        start = times.parse_stamp(not_before, "not_before") if not_before else self.clock()
        shown_in = times.zone(time_zone) if time_zone else None
        v.raise_if_any()
        found = self.attributes([mentorship.mentee_id, mentorship.mentor_id])
        people = [
            _availability(found.get(pid, {}))
            for pid in (mentorship.mentee_id, mentorship.mentor_id)
        ]
        busy = (
            self.diary(mentorship.mentee_id).intervals()
            + self.diary(mentorship.mentor_id).intervals()
        )
        shown = shown_in or people[0][1]
        last_day = date.fromisoformat(programme.end_date) if programme.end_date else None
        if programme.start_date:  # the programme's first local midnight, in the zone shown
            first = datetime.combine(date.fromisoformat(programme.start_date), time(0), shown)
            start = max(start, first.astimezone(UTC))
        found_slots = slots.suggest(
            people[0],
            people[1],
            busy,
            mentorship.booked_intervals(),
            timedelta(minutes=minutes),
            timedelta(days=int(programme.policy["min_gap_days"])),
            max(start, self.clock()),
            last_day,
            count * 2,  # spare ones, for those the programme's dates refuse below
        )
        # The same date rule booking applies, in the zone the slots are shown in.
        kept = [s for s in found_slots if _within_programme(s, shown, programme)]
        return kept[:count], shown.key

    # -- jobs -----------------------------------------------------------------------------------
    def send_due_reminders(self, now: datetime) -> int:
        """Record the reminder of every session inside its lead time, once each."""
        due = self.query(lambda m: m.reminder_candidates(times.stamp(now)))
        return self._each(
            REMINDER_ACTOR,
            due,
            lambda record, session_id, lead: record.remind(session_id, now, timedelta(hours=lead)),
        )

    def flag_stalls(self, now: datetime) -> int:
        """Flag every active mentorship without a held session for its stall period."""
        candidates = [(mid, "", 0) for mid in self.query(lambda m: m.stall_candidates())]
        return self._each(
            STALL_ACTOR,
            candidates,
            lambda record, _, __: record.flag_stall(now, self._stall_after(record)),
        )

    def _stall_after(self, record: Mentorship) -> timedelta:
        programme = self.programme_of(record.programme_id)
        return timedelta(days=int(programme.policy["stall_after_days"]))

    def _each(
        self,
        actor: str,
        items: Sequence[tuple[str, str, int]],
        change: Callable[[Mentorship, str, int], bool],
    ) -> int:
        """Apply ``change`` to each (mentorship, session, lead); exactly once each:
        the flag is in the aggregate and a racing save loses on the version."""
        done = 0
        ctx = current()
        with acting_as(RequestContext(actor, ctx.correlation_id, ctx.causation_id)):
            for mentorship_id, session_id, lead in items:
                try:
                    record = self.mentorship(mentorship_id)
                    if not change(record, session_id, lead or self._lead_hours(record)):
                        continue
                    self.save(record)
                except ConcurrencyConflict:
                    continue  # changed meanwhile (another replica, a command): next pass
                except Exception:
                    log.exception("scheduling: %s failed on mentorship %s", actor, mentorship_id)
                    continue  # one bad mentorship never stops the others
                done += 1
        return done

    def _lead_hours(self, record: Mentorship) -> int:
        return int(self.programme_of(record.programme_id).policy["reminder_lead_hours"])

    # -- queries ----------------------------------------------------------------------------------
    def mentorships(
        self, programme_id: str = "", participant_id: str = "", status: str = ""
    ) -> list[dict[str, Any]]:
        v = Violations()
        v.check(
            bool(programme_id) != bool(participant_id),
            "programme_id",
            "give exactly one of programme_id and participant_id",
        )
        v.raise_if_any()
        if programme_id:
            pid = str(parse_id("programme_id", programme_id))
            return self.query(lambda m: m.mentorships_of_programme(pid, status))
        parse_id("participant_id", participant_id)
        return self.query(lambda m: m.mentorships_of_participant(participant_id, status))

    def sessions(
        self, mentorship_id: str = "", participant_id: str = "", status: str = ""
    ) -> list[dict[str, Any]]:
        v = Violations()
        v.check(
            bool(mentorship_id) != bool(participant_id),
            "mentorship_id",
            "give exactly one of mentorship_id and participant_id",
        )
        v.raise_if_any()
        if mentorship_id:
            mid = str(self.mentorship(mentorship_id).id)
            return self.query(lambda m: m.sessions_of_mentorship(mid, status))
        parse_id("participant_id", participant_id)
        return self.query(lambda m: m.sessions_of_participant(participant_id, status))

    def mentorships_of(self, participant_id: str) -> list[Mentorship]:
        """Every mentorship aggregate of a participant (calendars, exports)."""
        parse_id("participant_id", participant_id)
        ids = self.query(lambda m: m.mentorship_ids_of(participant_id))
        return [self.mentorship(mid) for mid in ids]

    def export_participant(self, participant_id: str) -> dict[str, Any]:
        records = self.mentorships_of(participant_id)
        if not records:
            raise NotFound(f"participant {participant_id} has no mentorships")
        return {
            "service": self.name,
            "participant_id": participant_id,
            "mentorships": [
                {"mentorship_id": str(r.id), "history": self.event_history(r.id)} for r in records
            ],
        }


def _within_programme(
    slot: tuple[datetime, datetime], tz: Any, programme: SchedulingProgramme
) -> bool:
    if not programme.start_date or not programme.end_date:
        return True
    first = slot[0].astimezone(tz).date()
    last = (slot[1] - timedelta(microseconds=1)).astimezone(tz).date()
    start, end = date.fromisoformat(programme.start_date), date.fromisoformat(programme.end_date)
    return start <= first and last <= end


def _bounds(programme: SchedulingProgramme) -> tuple[int, int]:
    return int(programme.policy["min_session_minutes"]), int(
        programme.policy["max_session_minutes"]
    )


def _minutes(session: Mapping[str, Any]) -> int:
    start = times.parse_stamp(session["start"], "start")
    end = times.parse_stamp(session["end"], "end")
    return int((end - start).total_seconds() // 60)


def _availability(attrs: Mapping[str, Any]) -> tuple[list[slots.Window], Any]:
    """A member's weekly windows and zone from enrolment's attributes."""
    zone_name = str(attrs.get("time_zone") or "UTC")
    try:
        tz = times.zone(zone_name)
    except times.ValidationFailed:
        tz = times.zone("UTC")
    windows = [slots.Window(int(d), str(s), str(e)) for d, s, e in attrs.get("availability", ())]
    return windows, tz
