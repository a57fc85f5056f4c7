"""Validation rules for curricula and training commands.

Every rule names the field it guards and all violations are reported at once.
Pure functions: nothing here reads a clock.
"""

from __future__ import annotations

import re
from datetime import date

from revmentor.kernel.errors import Violations, shown
from revmentor.training.domain.curriculum import AUDIENCES, KINDS, WORKSHOP, Module

MODULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,59}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_MODULES = 50
MAX_MINUTES = 24 * 60
MAX_REASON = 1000


def check_modules(v: Violations, modules: list[Module]) -> None:
    """A curriculum: 1-50 modules, unique ids, something required for mentors."""
    v.check(1 <= len(modules) <= MAX_MODULES, "modules", f"must list 1-{MAX_MODULES} modules")
    seen: set[str] = set()
    for i, m in enumerate(modules[:MAX_MODULES]):
        f = f"modules[{i}]"
        if v.check(bool(MODULE_ID.fullmatch(m.id)), f"{f}.module_id", _slug(m.id)):
            v.check(m.id not in seen, f"{f}.module_id", f"{m.id!r} is listed twice")
            seen.add(m.id)
        size = len(m.title.strip())
        if v.check(1 <= size <= 200, f"{f}.title", f"must be 1-200 characters (got {size})"):
            v.check(
                not CONTROL.search(m.title), f"{f}.title", "must not contain control characters"
            )
        v.check(m.kind in KINDS, f"{f}.kind", f"must be one of {', '.join(KINDS)}")
        v.check(m.audience in AUDIENCES, f"{f}.audience", "must be mentor or mentee")
        v.check(
            1 <= m.estimated_minutes <= MAX_MINUTES,
            f"{f}.estimated_minutes",
            f"must be 1-{MAX_MINUTES} (got {m.estimated_minutes})",
        )
        if v.check(0 <= m.pass_mark <= 100, f"{f}.pass_mark", "must be 0 (not assessed) to 100"):
            v.check(
                not (m.kind == WORKSHOP and m.pass_mark),
                f"{f}.pass_mark",
                "workshops are attended, not assessed: must be 0",
            )
    if modules:
        v.check(
            any(m.required and m.audience == "mentor" for m in modules),
            "modules",
            "must make at least one mentor module required (certification needs one)",
        )


def _slug(value: str) -> str:
    return f"must be a slug of 2-60 lowercase letters, digits and '-' (got {shown(value)})"


def check_module_id(v: Violations, module_id: str) -> None:
    v.check(bool(MODULE_ID.fullmatch(module_id)), "module_id", _slug(module_id))


def check_score(v: Violations, score: int, attempt: int) -> None:
    v.check(0 <= score <= 100, "score", f"must be 0-100 (got {score})")
    v.check(attempt >= 0, "attempt", "must be 0 (the next attempt) or positive")


def check_reason(v: Violations, reason: str) -> None:
    size = len(reason.strip())
    if v.check(
        3 <= size <= MAX_REASON, "reason", f"must be 3-{MAX_REASON} characters (got {size})"
    ):
        text = reason.replace("\n", "")
        v.check(not CONTROL.search(text), "reason", "must not contain control characters")


def parse_date(v: Violations, field: str, value: str) -> date | None:
    """The date in ``value`` (YYYY-MM-DD), or None with a violation naming ``field``."""
    if not ISO_DATE.fullmatch(value or ""):
        v.add(field, f"must be a date YYYY-MM-DD (got {shown(value) if value else 'nothing'})")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        v.add(field, f"is not a real date (got {shown(value)})")
        return None


def check_version(v: Violations, field: str, version: int) -> None:
    v.check(version >= 0, field, "must be 0 or positive")
