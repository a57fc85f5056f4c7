"""The demo programme ``revmentor up`` seeds into an empty platform.

"Digital Leadership 2027": eight early-career mentors (born 1996-2003) coach
eight senior leaders (born 1965-1978) across London, Paris and Montréal. The
data goes in through the public gRPC API and the same CSV path as
``revmentor enrol import``, so the demo is also a smoke test of both.

Reporting lines: the mentees report to the executive committee (E1001-E1003),
the mentors to team leads (E3xxx), none of whom take part. One deliberate
exception - Inès Benali (mentor) reports to Philippe Garnier (mentee) - gives
matching a pair it must never form.

The programme started thirteen weeks ago and runs for about six months (dates
relative to the day it is seeded). Seven mentors finished their training; the
matching round pairs six of them, and every pair accepts. Five pairs held their
six planned sessions a fortnight apart and completed; the sixth met once last
week and has its next session booked for next week. That history is logged
after the fact (``LogPastSession``): the members are enrolled as the demo is
seeded, so their sessions are dated before their enrolment - the outcomes
report leaves them out of the days from enrolment to a first session.
"""

from __future__ import annotations

import csv
import io
import time
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from revmentor.cli.common import emit
from revmentor.cli.importer import Importer, import_rows
from revmentor.cli.rows import COLUMNS, parse_text
from revmentor.enrolment.v1 import enrolment_pb2 as pb

NAME = "Digital Leadership 2027"
DESCRIPTION = (
    "Reverse mentoring: early-career colleagues coach senior leaders on the digital "
    "skills reshaping how we work - generative AI, collaboration tools, data and security."
)
TOPICS = (
    ("generative-ai", "Generative AI at work"),
    ("social-media", "Social media and your professional voice"),
    ("collaboration-tools", "Collaboration tools: Teams, Slack, Miro"),
    ("data-literacy", "Data literacy and self-service dashboards"),
    ("cybersecurity-hygiene", "Cybersecurity hygiene: phishing, passwords, MFA"),
    ("remote-work", "Leading hybrid and remote teams"),
    ("low-code-automation", "Low-code automation of everyday tasks"),
    ("digital-wellbeing", "Digital wellbeing and focus"),
)
RULES = pb.ProgrammeRules(
    min_age_gap_years=15,
    mentor_capacity=1,
    planned_sessions=6,
    session_minutes=60,
    same_department_allowed=False,
)
NOTICE = "privacy-2026-03"
#: The programme started this long before the day it is seeded, and lasts this long.
STARTED_DAYS_AGO = 91
LENGTH_DAYS = 165  # 24 weeks less a weekend: Monday to Friday when it starts on a Monday


def programme_dates(today: date | None = None) -> tuple[date, date]:
    """(start, end) of the demo programme: thirteen weeks ago to about six months later."""
    start = (today or datetime.now(UTC).date()) - timedelta(days=STARTED_DAYS_AGO)
    return start, start + timedelta(days=LENGTH_DAYS)


LONDON = ("London", "Europe/London")
PARIS = ("Paris", "Europe/Paris")
MONTREAL = ("Montréal", "America/Toronto")

# employee id, role, name, born, department, manager, (site, zone), languages,
# skills (mentors), needs (mentees), availability (local time), meeting preference
# fmt: off
PEOPLE: tuple[tuple[Any, ...], ...] = (
    ("E2101", "mentor", "Priya Raman", 1998, "Marketing", "E3101", LONDON, "en;ta",
     "generative-ai:3;social-media", "", "Tue 12:00-13:30;Thu 15:00-16:00", "either"),
    ("E2102", "mentor", "Lucas Martin", 2000, "Workplace Technology", "E3102", PARIS, "fr;en",
     "collaboration-tools;cybersecurity-hygiene;remote-work", "",
     "Mon 10:00-12:00;Wed 16:00-17:00", "either"),
    ("E2103", "mentor", "Chloé Tremblay", 2001, "Data & Analytics", "E3103", MONTREAL, "fr-CA;en",
     "data-literacy:3;generative-ai:1", "", "Tue 09:00-11:00;Thu 09:00-10:30", "virtual"),
    ("E2104", "mentor", "Samuel Okafor", 1997, "Customer Service", "E3104", LONDON, "en",
     "social-media;collaboration-tools;digital-wellbeing", "", "Mon 14:00-15:30;Fri 10:00-11:00",
     "in_person"),
    ("E2105", "mentor", "Inès Benali", 1999, "Finance", "E1205", PARIS, "fr;en;ar",
     "data-literacy;low-code-automation", "", "Wed 09:00-10:30;Fri 14:00-15:00", "either"),
    ("E2106", "mentor", "Ethan Nguyen", 2002, "IT Security", "E3106", MONTREAL, "en;fr;vi",
     "cybersecurity-hygiene:3;generative-ai", "", "Mon 13:00-14:00;Wed 10:00-12:00", "virtual"),
    ("E2107", "mentor", "Mia Schneider", 1996, "People Analytics", "E3107", LONDON, "en;de",
     "remote-work;digital-wellbeing;collaboration-tools", "", "Tue 10:00-11:30", "either"),
    ("E2108", "mentor", "Noah Dubois", 2003, "Sales Operations", "E3108", PARIS, "fr;en",
     "low-code-automation;social-media", "", "Thu 13:30-15:00", "in_person"),
    ("E1201", "mentee", "Margaret Hughes", 1968, "Operations", "E1002", LONDON, "en", "",
     "generative-ai:1;data-literacy:2", "Tue 12:00-14:00;Thu 15:00-16:30", "either"),
    ("E1202", "mentee", "Jean-Pierre Lefèvre", 1966, "Sales", "E1001", PARIS, "fr;en", "",
     "social-media:1;collaboration-tools:2", "Mon 10:00-11:30;Wed 16:00-17:30", "in_person"),
    ("E1203", "mentee", "Robert Gagnon", 1971, "Manufacturing", "E1002", MONTREAL, "fr-CA;en", "",
     "data-literacy:1;low-code-automation:3", "Tue 09:00-10:30", "virtual"),
    ("E1204", "mentee", "Helen Carter", 1974, "Legal", "E1001", LONDON, "en", "",
     "cybersecurity-hygiene:1;generative-ai:2", "Mon 14:00-15:30;Fri 09:30-11:00", "either"),
    ("E1205", "mentee", "Philippe Garnier", 1969, "Finance", "E1003", PARIS, "fr;en", "",
     "data-literacy:1;generative-ai:1;remote-work:3", "Wed 09:00-10:30", "virtual"),
    ("E1206", "mentee", "Susan Whitfield", 1965, "Procurement", "E1003", MONTREAL, "en", "",
     "collaboration-tools:1;remote-work:2", "Mon 13:00-14:30;Thu 09:00-10:00", "virtual"),
    ("E1207", "mentee", "David Osei", 1976, "Marketing", "E1001", LONDON, "en", "",
     "digital-wellbeing:1;social-media:2", "Tue 10:00-11:00;Thu 13:30-15:00", "in_person"),
    ("E1208", "mentee", "Anne-Marie Rousseau", 1978, "Human Resources", "E1002", PARIS, "fr;en",
     "", "remote-work:1;collaboration-tools:2;cybersecurity-hygiene:3", "Tue 10:00-12:00",
     "either"),
)
# fmt: on


def email_for(name: str) -> str:
    """``Chloé Tremblay`` -> ``chloe.tremblay@example.com``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return ascii_name.lower().replace(" ", ".") + "@example.com"


def participants_csv() -> str:
    """The demo participants in the import format of ``revmentor enrol import``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for person in PEOPLE:
        eid, role, name, born, dept, manager, (site, zone), *rest = person
        identity = [eid, role, name, email_for(name), born, dept, manager, site, zone]
        writer.writerow([*identity, *rest, "yes", NOTICE])
    return out.getvalue()


ACTOR = "revmentor-cli:demo-seed"


def seed(stub: Any, token: str, timeout: float = 30.0) -> str:
    """Create, open and fill the demo programme (as ``token``); returns a one-line summary."""
    metadata = (("authorization", f"Bearer {token}"),)
    start, end = programme_dates()
    programme = stub.CreateProgramme(
        pb.CreateProgrammeRequest(
            name=NAME,
            description=DESCRIPTION,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            topics=[pb.Topic(code=code, title=title) for code, title in TOPICS],
            rules=RULES,
        ),
        timeout=timeout,
        metadata=metadata,
    )
    stub.OpenEnrolment(
        pb.ProgrammeCommand(programme_id=programme.programme_id), timeout=timeout, metadata=metadata
    )
    rows = parse_text(participants_csv(), programme.programme_id, source="demo data")
    problems: list[str] = []
    result = import_rows(Importer(stub, programme.programme_id, metadata), rows, problems.append)
    for line in problems:
        emit(f"demo participant rejected: {line}")
    roles: Counter[str] = Counter()
    sites: list[str] = []
    for row in rows:
        if row.request is not None:
            roles["mentors" if row.request.role == pb.ROLE_MENTOR else "mentees"] += 1
            if row.request.profile.site not in sites:
                sites.append(row.request.profile.site)
    return (
        f"seeded demo programme {NAME!r} ({programme.programme_id}): "
        f"{result.counts['enrolled']} of {len(rows)} enrolled "
        f"({roles['mentors']} mentors, {roles['mentees']} mentees) "
        f"at {', '.join(sites)}; {len(TOPICS)} topics; enrolment open"
    )


#: How many of the demo mentors finish their training (the rest are still in it).
TRAINED_MENTORS = 7


def train(enrolment: Any, training: Any, token: str, timeout: float = 60.0) -> str:
    """Certify the first :data:`TRAINED_MENTORS` demo mentors through the training API.

    Waits (bounded by ``timeout``) until training has opened their records from
    the enrolment events, then records every required module as an LMS or a
    facilitator would. Returns a summary fragment for the seed line.
    """
    from revmentor.training.v1 import training_pb2 as tpb

    metadata = (("authorization", f"Bearer {token}"),)
    programmes = enrolment.ListProgrammes(
        pb.ListProgrammesRequest(page_size=100), timeout=timeout, metadata=metadata
    )
    programme = next(p for p in programmes.programmes if p.name == NAME)
    mentors = enrolment.ListParticipants(
        pb.ListParticipantsRequest(
            programme_id=programme.programme_id, role=pb.ROLE_MENTOR, page_size=100
        ),
        timeout=timeout,
        metadata=metadata,
    ).participants
    chosen = sorted(mentors, key=lambda p: p.employee_id)[:TRAINED_MENTORS]
    workshop_day = (programme_dates()[0] - timedelta(days=5)).isoformat()  # before the start
    deadline = time.monotonic() + timeout
    certified = 0
    for mentor in chosen:
        record = _wait_for_record(training, tpb, mentor.participant_id, metadata, deadline)
        if record is None:
            break
        for progress in record.modules:
            module = progress.module
            if not module.required or progress.status in (
                tpb.MODULE_STATUS_PASSED,
                tpb.MODULE_STATUS_WAIVED,
            ):
                continue
            if module.kind == tpb.MODULE_KIND_WORKSHOP:
                record = training.RecordAttendance(
                    tpb.RecordAttendanceRequest(
                        participant_id=mentor.participant_id,
                        module_id=module.module_id,
                        session_date=workshop_day,
                    ),
                    timeout=timeout,
                    metadata=metadata,
                )
            else:
                record = training.CompleteModule(
                    tpb.CompleteModuleRequest(
                        participant_id=mentor.participant_id,
                        module_id=module.module_id,
                        score=max(module.pass_mark, 80) + 5,
                    ),
                    timeout=timeout,
                    metadata=metadata,
                )
        certified += record.status == tpb.RECORD_STATUS_CERTIFIED
    return f"; training: {certified} of {len(mentors)} mentors trained and certified"


def _wait_for_record(
    training: Any, tpb: Any, participant_id: str, metadata: Any, deadline: float
) -> Any:
    import grpc

    while True:
        try:
            return training.GetTrainingRecord(
                tpb.GetTrainingRecordRequest(participant_id=participant_id),
                timeout=max(deadline - time.monotonic(), 1.0),
                metadata=metadata,
            )
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise
            if time.monotonic() > deadline:
                emit(f"demo training: no training record for {participant_id} yet; skipped")
                return None
        time.sleep(0.2)


DEMO_MENTEES = sum(1 for person in PEOPLE if person[1] == "mentee")
#: Demo proposals accepted by both sides: every pair the round proposes.
CONFIRMED_MATCHES = 6


def match(enrolment: Any, matching: Any, token: str, timeout: float = 60.0) -> str:
    """Run the demo programme's first matching round and confirm a few matches.

    Waits (bounded by ``timeout``) until matching's pool has caught up with
    the enrolment and training events (every mentee in, every certified mentor
    certified), then runs one round and accepts the first proposals on both
    sides (as an administrator would on the participants' behalf).
    """
    from revmentor.matching.v1 import matching_pb2 as mpb

    metadata = (("authorization", f"Bearer {token}"),)
    programmes = enrolment.ListProgrammes(
        pb.ListProgrammesRequest(page_size=100), timeout=timeout, metadata=metadata
    )
    programme = next(p for p in programmes.programmes if p.name == NAME)
    pid = programme.programme_id
    if not _wait_for_pool(matching, mpb, pid, metadata, time.monotonic() + timeout):
        emit("demo matching: the candidate pool did not fill in time; no round run")
        return "; matching: no round (pool not ready)"
    round_ = matching.RunRound(
        mpb.RunRoundRequest(programme_id=pid), timeout=timeout, metadata=metadata
    )
    confirmed = 0
    for proposal in round_.proposals[:CONFIRMED_MATCHES]:
        for participant in (proposal.mentee_id, proposal.mentor_id):
            answer = matching.RespondToProposal(
                mpb.RespondToProposalRequest(
                    match_id=proposal.match_id,
                    participant_id=participant,
                    decision=mpb.DECISION_ACCEPT,
                ),
                timeout=timeout,
                metadata=metadata,
            )
        confirmed += answer.status == mpb.MATCH_STATUS_CONFIRMED
    return (
        f"; matching: round {round_.round_number} proposed {round_.proposed} pairs "
        f"({len(round_.unmatched)} mentees unmatched, with reasons), {confirmed} confirmed"
    )


def _wait_for_pool(matching: Any, mpb: Any, pid: str, metadata: Any, deadline: float) -> bool:
    import grpc

    while time.monotonic() < deadline:
        try:
            pool = matching.GetCandidatePool(
                mpb.GetCandidatePoolRequest(programme_id=pid), timeout=5, metadata=metadata
            )
            if pool.mentees == DEMO_MENTEES and pool.certified_mentors == TRAINED_MENTORS:
                return True
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise
        time.sleep(0.2)
    return False


#: Where the demo pairs meet online (one room per pair).
MEETING_LINK = "https://meet.example.com/revmentor-demo-{n}"
AGENDA_FIRST = "Getting started: goals for the programme, and a first look at the topic."
AGENDA_NEXT = "Hands-on: try it on a real task from this week, then plan the next steps."
AGENDA_LAST = "Wrap-up: what changed since the first session, and what to keep practising."
#: The first pairs (by the mentee's employee id) held every planned session and completed.
COMPLETED_PAIRS = 5
#: How far apart a completed pair's sessions were.
CADENCE = timedelta(days=14)


def schedule(enrolment: Any, scheduling: Any, token: str, timeout: float = 30.0) -> str:
    """Log the demo pairs' sessions: five pairs completed, the others just started.

    Waits (bounded by ``timeout``) until scheduling has opened the mentorships
    of the :data:`CONFIRMED_MATCHES` confirmed matches (it consumes matching's
    ``MatchConfirmed``). The first :data:`COMPLETED_PAIRS` log every planned
    session, a fortnight apart up to two weeks ago - the last one completes the
    mentorship; each other pair logs one session held last week and books a
    virtual one next week. Sessions start at one of the mentee's weekly
    availability windows in the mentee's time zone (as an administrator would
    record them on the pair's behalf). Returns a summary fragment.
    """
    from revmentor.scheduling.v1 import scheduling_pb2 as spb

    metadata = (("authorization", f"Bearer {token}"),)
    programmes = enrolment.ListProgrammes(
        pb.ListProgrammesRequest(page_size=100), timeout=timeout, metadata=metadata
    )
    programme = next(p for p in programmes.programmes if p.name == NAME)
    pid = programme.programme_id
    mentorships = _wait_for_mentorships(scheduling, spb, pid, metadata, time.monotonic() + timeout)
    if not mentorships:
        emit("demo scheduling: no mentorship opened in time; no sessions booked")
        return "; scheduling: no mentorships yet (no sessions booked)"
    mentees = {
        m.mentee_id: enrolment.GetParticipant(
            pb.GetParticipantRequest(participant_id=m.mentee_id), timeout=timeout, metadata=metadata
        )
        for m in mentorships
    }
    in_order = sorted(mentorships, key=lambda m: mentees[m.mentee_id].employee_id)
    held = booked = 0
    for n, mentorship in enumerate(in_order, start=1):
        profile = mentees[mentorship.mentee_id].profile
        pair = _Pair(scheduling, spb, mentorship, profile, n, metadata, timeout)
        if n <= COMPLETED_PAIRS:
            held += pair.log(_history(mentorship.planned_sessions or RULES.planned_sessions))
        else:
            held += pair.log([(timedelta(days=8), AGENDA_FIRST)])  # 2-8 days ago
            booked += pair.book(timedelta(days=6))  # 6-12 days ahead
    completed = _completed(scheduling, spb, pid, metadata, timeout)
    return (
        f"; scheduling: {len(mentorships)} mentorships opened, {held} sessions held, "
        f"{completed} mentorships completed, {booked} booked for next week"
    )


def _history(planned: int) -> list[tuple[timedelta, str]]:
    """(how long ago, agenda) of every session of a completed pair, oldest first:
    a fortnight apart, the last one two weeks ago."""
    agendas = [AGENDA_FIRST, *[AGENDA_NEXT] * (planned - 2), AGENDA_LAST]
    return [(CADENCE * (planned - k), agendas[k]) for k in range(planned)]


class _Pair:
    """One demo mentorship's sessions, logged or booked by the administrator."""

    def __init__(
        self,
        scheduling: Any,
        spb: Any,
        mentorship: Any,
        profile: Any,
        n: int,
        metadata: Any,
        timeout: float,
    ) -> None:
        self.scheduling, self.spb, self.mentorship = scheduling, spb, mentorship
        self.zone = profile.time_zone or "UTC"
        self.windows = list(profile.availability)
        self.link = MEETING_LINK.format(n=n)
        self.metadata, self.timeout = metadata, timeout

    def request(self, day: date, agenda: str) -> Any:
        return self.spb.ScheduleSessionRequest(
            mentorship_id=self.mentorship.mentorship_id,
            local_start=_slot(day, self.windows),
            time_zone=self.zone,
            duration_minutes=60,
            mode=self.spb.MODE_VIRTUAL,
            meeting_link=self.link,
            agenda=agenda,
        )

    def log(self, sessions: list[tuple[timedelta, str]]) -> int:
        """Log sessions held (ago, agenda), each in the week from ``ago``; how many held."""
        today = datetime.now(UTC).date()
        held = 0
        for ago, agenda in sessions:
            session = self.scheduling.LogPastSession(
                self.request(today - ago, agenda), timeout=self.timeout, metadata=self.metadata
            )
            held += session.status == self.spb.SESSION_STATUS_HELD
        return held

    def book(self, ahead: timedelta) -> int:
        """Book the next session in the week from ``ahead``; 1 when booked."""
        upcoming = self.request(datetime.now(UTC).date() + ahead, AGENDA_NEXT)
        session = self.scheduling.ScheduleSession(
            upcoming, timeout=self.timeout, metadata=self.metadata
        )
        return int(session.status == self.spb.SESSION_STATUS_SCHEDULED)


def _completed(scheduling: Any, spb: Any, pid: str, metadata: Any, timeout: float) -> int:
    reply = scheduling.ListMentorships(
        spb.ListMentorshipsRequest(
            programme_id=pid, status=spb.MENTORSHIP_STATUS_COMPLETED, page_size=100
        ),
        timeout=timeout,
        metadata=metadata,
    )
    return len(reply.mentorships)


def _slot(first_day: date, windows: list[Any]) -> str:
    """``YYYY-MM-DDTHH:MM``: the first availability window in the 7 days from
    ``first_day`` (10:00 on ``first_day`` when the person gave none)."""
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        starts = sorted(w.start_time for w in windows if w.weekday == day.isoweekday())
        if starts:
            return f"{day.isoformat()}T{starts[0]}"
    return f"{first_day.isoformat()}T10:00"


def _wait_for_mentorships(
    scheduling: Any, spb: Any, pid: str, metadata: Any, deadline: float
) -> list[Any]:
    """The programme's mentorships once all :data:`CONFIRMED_MATCHES` are there (or
    whatever is there at ``deadline``)."""
    import grpc

    found: list[Any] = []
    while True:
        try:
            reply = scheduling.ListMentorships(
                spb.ListMentorshipsRequest(programme_id=pid, page_size=100),
                timeout=5,
                metadata=metadata,
            )
            found = sorted(reply.mentorships, key=lambda m: m.mentorship_id)
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):  # type: ignore[attr-defined]
                raise
        if len(found) >= CONFIRMED_MATCHES or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
