"""Builders shared by the matching tests: an attribute table standing in for
enrolment's GetMatchingAttributes, and a seeder that fills a programme's pool
the way the enrolment and training subscriptions do (same aggregate methods).

A module of its own (not conftest) so test modules can import the types
without clashing with other folders' conftest modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count
from typing import Any
from uuid import uuid4

from revmentor.matching.application import MatchingApplication
from revmentor.matching.domain.programme import MatchingProgramme

_numbers = count(1)


class AttributeTable:
    """What enrolment's GetMatchingAttributes would answer, per participant id."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def __call__(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        self.calls += 1
        return {pid: self.rows[pid] for pid in ids if pid in self.rows}


def attributes(pid: str, role: str, **overrides: Any) -> dict[str, Any]:
    n = next(_numbers)
    row: dict[str, Any] = {
        "participant_id": pid,
        "role": role,
        "status": "enrolled",
        "employee_id": f"E{n:05d}",
        "manager_employee_id": "",
        "department": f"dept-{n}",
        "site": "paris",
        "time_zone": "Europe/Paris",
        "birth_year": 1998 if role == "mentor" else 1970,
        "languages": ["en"],
        "skills_offered": ["generative-ai", "social-media"] if role == "mentor" else [],
        "skill_levels": {},  # topic -> 1 (basics) .. 3 (expert); unlisted skills count as 2
        "learning_needs": [("generative-ai", 1)] if role == "mentee" else [],
        "availability": [(d, "09:00", "12:00") for d in (1, 2, 3)],
        "meeting_preference": "either",
    }
    row.update(overrides)
    return row


class Seeder:
    """Fills a programme's pool as the subscriptions would, and the attribute table."""

    def __init__(self, app: MatchingApplication, table: AttributeTable):
        self.app = app
        self.table = table

    def programme(self, capacity: int = 1, min_gap: int = 10, same_department: bool = False) -> str:
        programme = MatchingProgramme(programme_id=uuid4())
        programme.record_rules(
            {
                "min_age_gap_years": min_gap,
                "mentor_capacity": capacity,
                "same_department_allowed": same_department,
            }
        )
        self.app.save(programme)
        return str(programme.programme_id)

    def participant(
        self, programme_id: str, role: str, certified: bool = True, **overrides: Any
    ) -> str:
        pid = str(uuid4())
        pool = self.app.programme(programme_id)
        pool.enrol(pid, role)
        if role == "mentor" and certified:
            pool.set_certified(pid, True)
        self.app.save(pool)
        self.table.rows[pid] = attributes(pid, role, **overrides)
        return pid

    def mentor(self, programme_id: str, certified: bool = True, **overrides: Any) -> str:
        return self.participant(programme_id, "mentor", certified, **overrides)

    def mentee(self, programme_id: str, **overrides: Any) -> str:
        return self.participant(programme_id, "mentee", **overrides)

    def leave(self, programme_id: str, participant_id: str) -> None:
        pool = self.app.programme(programme_id)
        closed = self.app.close_open_matches(pool, participant_id, "participant_withdrawn")
        pool.leave(participant_id, "participant_withdrawn")
        self.app.save(pool, *closed)
