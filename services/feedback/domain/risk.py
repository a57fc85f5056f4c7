"""When a pair is at risk, and why - each rule with its own reason code.

low_usefulness    average usefulness <= 2 over the pair's recent sessions
                  (the last RECENT sessions with feedback both members can
                  see: both answered or the window closed)
stalled           scheduling flagged the mentorship as stalled
feedback_missing  a member gave no feedback for two closed sessions in a row
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

LOW_USEFULNESS = "low_usefulness"
STALLED = "stalled"
FEEDBACK_MISSING = "feedback_missing"
RECENT = 3
LOW = 2.0


@dataclass(frozen=True)
class SessionRecord:
    """One held session of a pair, in order: the usefulness ratings given, and
    who did not answer before the window closed (empty while it is open)."""

    usefulness: tuple[int, ...]
    missing: tuple[str, ...] = ()
    closed: bool = False

    @property
    def revealed(self) -> bool:
        """Both answered or the window closed: only then may ratings be judged,
        or a manager would learn one member's rating before the other answered."""
        return self.closed or len(self.usefulness) >= 2


def reasons(sessions: Sequence[SessionRecord], stalled: bool) -> list[tuple[str, str]]:
    """(code, sentence) for every rule the pair currently breaks, each code once."""
    found = []
    rated = [s for s in sessions if s.usefulness and s.revealed][-RECENT:]
    if rated and fmean(u for s in rated for u in s.usefulness) <= LOW:
        # no figure in the sentence: over one session it could be one member's rating
        found.append(
            (
                LOW_USEFULNESS,
                f"average usefulness at or below {LOW:g} of 5 over the last {len(rated)} "
                "session(s) with feedback",
            )
        )
    if stalled:
        found.append((STALLED, "no session held for the programme's stall period"))
    closed = [s for s in sessions if s.closed][-2:]
    silent = [
        side
        for side in ("mentee", "mentor")
        if len(closed) == 2 and all(side in s.missing for s in closed)
    ]
    if silent:
        who = " and the ".join(silent)
        found.append(
            (FEEDBACK_MISSING, f"the {who} gave no feedback on the last two sessions in a row")
        )
    return found
