"""Input rules of the matching commands: every violation names its field.

Pure validation, shared by the gRPC adapter and the application, so a bad
request is refused before anything is loaded or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from revmentor.kernel.errors import Violations
from revmentor.matching.domain.explain import OVERRIDABLE

WEIGHT_NAMES = ("coverage", "availability", "age_gap", "cross_department", "same_site")
MAX_WEIGHT = 10.0
TARGET_GAP_RANGE = (1, 60)
OVERLAP_RANGE = (0, 2400)
RESPONSE_HOURS_RANGE = (1, 2160)
REASON_LENGTH = (3, 1000)
JUSTIFICATION_LENGTH = (10, 1000)


@dataclass(frozen=True)
class PolicyChange:
    """A partial update of a programme's matching policy (None: keep)."""

    weights: dict[str, float] | None = None
    target_age_gap_years: int | None = None
    min_weekly_overlap_minutes: int | None = None
    response_window_hours: int | None = None

    def applied_to(self, policy: dict[str, Any]) -> dict[str, Any]:
        """The validated new policy (raises ValidationFailed naming each bad field)."""
        v = Violations()
        new = dict(policy)
        if self.weights is not None:
            _check_weights(v, self.weights)
            new["weights"] = {name: float(self.weights.get(name, 0.0)) for name in WEIGHT_NAMES}
        for name, bounds in (
            ("target_age_gap_years", TARGET_GAP_RANGE),
            ("min_weekly_overlap_minutes", OVERLAP_RANGE),
            ("response_window_hours", RESPONSE_HOURS_RANGE),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            low, high = bounds
            if v.check(low <= value <= high, f"change.{name}", f"must be {low}-{high}"):
                new[name] = int(value)
        v.raise_if_any()
        return new


def _check_weights(v: Violations, weights: dict[str, float]) -> None:
    for name in WEIGHT_NAMES:
        value = weights.get(name, 0.0)
        v.check(
            0.0 <= value <= MAX_WEIGHT and value == value,
            f"change.weights.{name}",
            f"must be 0-{MAX_WEIGHT:g}",
        )
    v.check(
        any(weights.get(name, 0.0) > 0 for name in WEIGHT_NAMES),
        "change.weights",
        "at least one weight must be above 0",
    )


def check_reason(v: Violations, name: str, reason: str, required: bool = True) -> None:
    text = reason.strip()
    low, high = REASON_LENGTH
    if not text and not required:
        return
    v.check(low <= len(text) <= high, name, f"must be {low}-{high} characters")


def check_override(v: Violations, constraints: list[str], justification: str) -> None:
    """Overridable codes only, each once, and a justification when any is given."""
    for i, code in enumerate(constraints):
        v.check(
            code in OVERRIDABLE,
            f"override.constraints[{i}]",
            f"must be one of {', '.join(sorted(OVERRIDABLE))}",
        )
    v.check(
        len(set(constraints)) == len(constraints),
        "override.constraints",
        "must not repeat a constraint",
    )
    low, high = JUSTIFICATION_LENGTH
    text = justification.strip()
    if constraints:
        v.check(
            low <= len(text) <= high,
            "override.justification",
            f"must be {low}-{high} characters when constraints are overridden",
        )
    else:
        v.check(not text, "override.justification", "only with overridden constraints")
