"""A participant's sessions as an iCalendar (RFC 5545) feed.

Stable UIDs (``<session id>@revmentor``) so calendar programs update events
in place; ``SEQUENCE`` is the session's own counter, bumped by every change;
cancelled sessions stay in the feed with ``STATUS:CANCELLED`` so clients remove
them; start and end carry the zone the session was booked in (``TZID`` with
its ``VTIMEZONE``), so "10:00 Europe/Paris" shows as 10:00 in Paris on both
sides of a daylight-saving switch. Agendas, places and links are the pair's
own data: the feed is only ever served to a member of the pair (or a manager).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from revmentor.scheduling.domain import mentorship as ms
from revmentor.scheduling.domain.mentorship import Mentorship
from revmentor.scheduling.domain.times import parse_stamp

PRODID = "-//revmentor//scheduling//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
STATUS = {
    ms.SCHEDULED: "CONFIRMED",
    ms.HELD: "CONFIRMED",
    ms.DISPUTED: "CONFIRMED",
    ms.NO_SHOW: "CANCELLED",
    ms.CANCELLED: "CANCELLED",
}


def uid(session_id: str) -> str:
    return f"{session_id}@revmentor"


def session_event(mentorship: Mentorship, session: dict[str, object], stamp: datetime) -> Event:
    tz = ZoneInfo(str(session["time_zone"]))
    event = Event()
    event.add("uid", uid(str(session["session_id"])))
    event.add("dtstamp", stamp)
    event.add("dtstart", parse_stamp(str(session["start"]), "start").astimezone(tz))
    event.add("dtend", parse_stamp(str(session["end"]), "end").astimezone(tz))
    event.add("sequence", int(str(session["sequence"])))
    event.add("status", STATUS[str(session["status"])])
    event.add("summary", f"Reverse mentoring session {session['number']}")
    location, link, agenda = (
        str(session.get(k) or "") for k in ("location", "meeting_link", "agenda")
    )
    # A link or place stored before they were checked for spaces and control
    # characters must not break the whole feed: such a value is left out.
    link = link if link.startswith("https://") and link.isprintable() and " " not in link else ""
    location = location if location.isprintable() else ""
    if location and location != "[erased]":
        event.add("location", location)
    if link:
        event.add("url", link)
    lines = [f"Mentorship {mentorship.id}"]
    if link:
        lines.append(f"Join: {link}")
    if agenda and agenda != "[erased]":
        lines += ["", agenda]
    event.add("description", "\n".join(lines))
    return event


def participant_calendar(
    participant_id: str, mentorships: Iterable[Mentorship], now: datetime
) -> str:
    """The feed of every session of every mentorship of the participant."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"revmentor sessions ({participant_id})")
    for mentorship in mentorships:
        for _, session in sorted(mentorship.sessions.items(), key=lambda kv: kv[1]["start"]):
            calendar.add_component(session_event(mentorship, session, now))
    calendar.add_missing_timezones()
    return calendar.to_ical().decode("utf-8")
