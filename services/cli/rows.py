"""Reading an HR export (CSV) into enrolment requests.

The file is UTF-8 (a byte-order mark, as Excel writes, is fine), comma-separated,
with this header line (columns in any order, all of them present)::

    employee_id,role,display_name,email,birth_year,department,manager_employee_id,site,
    time_zone,languages,skills,needs,availability,meeting_preference,consent,notice_version

One row per person:

==================== =========================================================
employee_id          HR id, unique in the file, e.g. ``E10231``
role                 ``mentor`` or ``mentee``
display_name, email  as shown to the other participant
birth_year           e.g. ``1971``
department, site     free text, e.g. ``Finance``, ``Paris``
manager_employee_id  the manager's employee id (empty when none)
time_zone            IANA name, e.g. ``Europe/Paris``
languages            ``;``-separated BCP 47 tags: ``en;fr``
skills               mentors: ``;``-separated topic codes, each with an optional
                     ``:level`` (1 basics .. 3 expert; 2 when left out):
                     ``generative-ai:3;social-media``
needs                mentees: ``topic:priority`` (1 must .. 3 nice to have):
                     ``generative-ai:1;data-literacy:2``
availability         weekly windows in the person's time zone:
                     ``Mon 09:00-11:00;Wed 14:00-16:00``
meeting_preference   ``in_person``, ``virtual`` or ``either``
consent              ``yes`` or ``no`` (consent to take part)
notice_version       the privacy notice the consent refers to, e.g. ``privacy-2026-03``
==================== =========================================================

Only the syntax is checked here; the programme's rules (topic catalogue, ages,
time zones, ...) are checked by the enrolment service, which reports every
broken rule of a row at once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from revmentor.cli.common import CliError
from revmentor.enrolment.v1 import enrolment_pb2 as pb

COLUMNS = (
    "employee_id",
    "role",
    "display_name",
    "email",
    "birth_year",
    "department",
    "manager_employee_id",
    "site",
    "time_zone",
    "languages",
    "skills",
    "needs",
    "availability",
    "meeting_preference",
    "consent",
    "notice_version",
)
HEADER = ",".join(COLUMNS)

ROLES = {"mentor": pb.ROLE_MENTOR, "mentee": pb.ROLE_MENTEE}
PREFERENCES = {
    "in_person": pb.MEETING_PREFERENCE_IN_PERSON,
    "virtual": pb.MEETING_PREFERENCE_VIRTUAL,
    "either": pb.MEETING_PREFERENCE_EITHER,
}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WINDOW = re.compile(r"^([A-Za-z]+)\.?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
NEED = re.compile(r"^([^:\s]+)\s*:\s*(\S+)$")
SKILL = re.compile(r"^([^:\s]+)(?:\s*:\s*([1-3]))?$")

#: Where the service's field names differ from the CSV columns.
COLUMN_OF_FIELD = {
    "skills_offered": "skills",
    "skill_levels": "skills",
    "learning_needs": "needs",
    "consent.given": "consent",
    "consent.notice_version": "notice_version",
}
INDEXED_FIELD = re.compile(r"^(\w+)\[(\d+)\](?:\.(\w+))?$")
KEYED_FIELD = re.compile(r"^(\w+)\[([^\]]+)\]$")

Problem = tuple[str, str]  # (column, what is wrong)


@dataclass
class Row:
    """One data row: the request to send, or why it cannot be sent."""

    line: int
    employee_id: str
    request: pb.EnrolParticipantRequest | None = None
    problems: list[Problem] = field(default_factory=list)

    def report(self, problems: Iterable[Problem] | None = None) -> str:
        """``line 7 (employee E123): birth_year: not a year; ...``"""
        found = list(problems if problems is not None else self.problems)
        who = f"employee {self.employee_id}" if self.employee_id else "no employee id"
        details = "; ".join(f"{column}: {reason}" for column, reason in found)
        return f"line {self.line} ({who}): {details}"


def column_problem(service_field: str, description: str) -> Problem:
    """A field violation from the service, named after the CSV column it came from.

    ``profile.availability[1].end_time`` -> (``availability``, ``item 2 end_time: ...``);
    ``profile.skill_levels[generative-ai]`` -> (``skills``, ``generative-ai: ...``).
    """
    name = service_field.removeprefix("profile.")
    indexed = INDEXED_FIELD.match(name)
    if indexed:
        base, index, part = indexed.groups()
        where = f"item {int(index) + 1}" + (f" {part}" if part else "")
        return COLUMN_OF_FIELD.get(base, base), f"{where}: {description}"
    keyed = KEYED_FIELD.match(name)
    if keyed:
        base, key = keyed.groups()
        return COLUMN_OF_FIELD.get(base, base), f"{key}: {description}"
    return COLUMN_OF_FIELD.get(name, name), description


def read_file(path: Path, programme_id: str) -> list[Row]:
    """Every data row of ``path``; CliError when the file itself is unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise CliError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); "
            "export the sheet as 'CSV UTF-8'"
        ) from None
    except OSError as error:
        raise CliError(f"{path}: cannot read it ({error.strerror})") from None
    return parse_text(text, programme_id, source=str(path))


def parse_text(text: str, programme_id: str, source: str = "<csv>") -> list[Row]:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = [name.strip() for name in next(reader, [])]
        if not any(header):
            raise CliError(
                f"{source}: the file is empty; the first line must be the header:\n{HEADER}"
            )
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise CliError(
                f"{source}: line 1 (header) lacks column(s) {', '.join(missing)}; "
                f"the header must name these columns:\n{HEADER}"
            )
        rows: list[Row] = []
        seen: dict[str, int] = {}
        while True:
            line = reader.line_num + 1  # where the next record starts
            cells = next(reader, None)
            if cells is None:
                break
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            row = parse_record(line, header, cells, programme_id)
            if row.employee_id in seen:
                row.request = None
                row.problems = [
                    (
                        "employee_id",
                        f"appears again (first on line {seen[row.employee_id]}); "
                        "keep one row per employee",
                    )
                ]
            elif row.employee_id:
                seen[row.employee_id] = line
            rows.append(row)
    except csv.Error as error:
        raise CliError(f"{source}: line {reader.line_num}: not valid CSV ({error})") from None
    return rows


def parse_record(line: int, header: list[str], cells: list[str], programme_id: str) -> Row:
    """One CSV record -> the request, or every syntax problem of the record."""
    problems: list[Problem] = []
    if len(cells) > len(header):
        problems.append(
            ("row", f"has {len(cells) - len(header)} value(s) more than the header has columns")
        )
    record = dict(zip(header, (cell.strip() for cell in cells), strict=False))
    for column in COLUMNS:
        if column not in record:
            problems.append((column, "missing (the row has fewer values than the header)"))
    values = {column: record.get(column, "") for column in COLUMNS}
    employee_id = values["employee_id"]
    row = Row(line, employee_id)

    def check(column: str, ok: bool, reason: str) -> None:
        if column in record and not ok:
            problems.append((column, reason))

    check("employee_id", bool(employee_id), "is empty; every row needs the HR employee id")
    role = ROLES.get(values["role"].lower())
    check("role", role is not None, f"must be mentor or mentee (got {values['role']!r})")
    birth_year = _year(values["birth_year"])
    check(
        "birth_year",
        birth_year is not None,
        f"must be a whole number such as 1984 (got {values['birth_year']!r})",
    )
    skills, levels, bad_skills = _skills(values["skills"])
    for item in bad_skills:
        problems.append(
            (
                "skills",
                f"{item!r} must be a topic code with an optional level 1-3, "
                "e.g. generative-ai or generative-ai:3 (1 basics - 3 expert)",
            )
        )
    needs, bad_needs = _needs(values["needs"])
    for item in bad_needs:
        problems.append(
            ("needs", f"{item!r} must be topic:priority, e.g. data-literacy:1 (1 must - 3 nice)")
        )
    windows, bad_windows = _availability(values["availability"])
    for item in bad_windows:
        problems.append(
            ("availability", f"{item!r} must look like 'Mon 09:00-11:00' (day HH:MM-HH:MM)")
        )
    preference = PREFERENCES.get(re.sub(r"[\s-]+", "_", values["meeting_preference"].lower()))
    check(
        "meeting_preference",
        preference is not None,
        f"must be in_person, virtual or either (got {values['meeting_preference']!r})",
    )
    consent = values["consent"].lower()
    check("consent", consent in YES | NO, f"must be yes or no (got {values['consent']!r})")

    if problems:
        row.problems = problems
        return row
    row.request = pb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=role,
        profile=pb.Profile(
            display_name=values["display_name"],
            email=values["email"],
            birth_year=birth_year or 0,
            department=values["department"],
            manager_employee_id=values["manager_employee_id"],
            site=values["site"],
            time_zone=values["time_zone"],
            languages=_list(values["languages"]),
            skills_offered=skills,
            skill_levels=levels,
            learning_needs=needs,
            availability=windows,
            meeting_preference=preference,
        ),
        consent=pb.Consent(given=consent in YES, notice_version=values["notice_version"]),
    )
    return row


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(";") if item.strip()]


def _year(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _skills(text: str) -> tuple[list[str], dict[str, int], list[str]]:
    """``generative-ai:3;social-media`` -> topics, their given levels, bad items."""
    topics: list[str] = []
    levels: dict[str, int] = {}
    bad: list[str] = []
    for item in _list(text):
        match = SKILL.match(item)
        if not match:
            bad.append(item)
            continue
        topic, level = match.groups()
        topics.append(topic)
        if level is not None:
            levels[topic] = int(level)
    return topics, levels, bad


def _needs(text: str) -> tuple[list[pb.LearningNeed], list[str]]:
    needs, bad = [], []
    for item in _list(text):
        match = NEED.match(item)
        if not match or not match.group(2).isdigit():
            bad.append(item)
            continue
        needs.append(pb.LearningNeed(topic=match.group(1), priority=int(match.group(2))))
    return needs, bad


def _weekday(name: str) -> int | None:
    lowered = name.lower()
    if len(lowered) < 2:
        return None
    for number, day in enumerate(WEEKDAYS, start=1):
        if day.startswith(lowered):
            return number
    return None


def _availability(text: str) -> tuple[list[pb.AvailabilityWindow], list[str]]:
    windows, bad = [], []
    for item in _list(text):
        match = WINDOW.match(item)
        weekday = _weekday(match.group(1)) if match else None
        if not match or weekday is None:
            bad.append(item)
            continue
        _, start_h, start_m, end_h, end_m = match.groups()
        windows.append(
            pb.AvailabilityWindow(
                weekday=weekday,
                start_time=f"{int(start_h):02d}:{start_m}",
                end_time=f"{int(end_h):02d}:{end_m}",
            )
        )
    return windows, bad
