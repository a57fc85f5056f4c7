"""What a member may say about a session or in a survey, validated field by field.

Ratings are 1-5 (would-recommend 0-10); topics come from the programme's
catalogue; free text (practices to adopt, the confidential note) is bounded
and sealed at rest. Every violation names its field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from revmentor.kernel.errors import Violations

MENTEE = "mentee"
MENTOR = "mentor"
RATING = (1, 5)
RECOMMEND = (0, 10)
NOTE_MAX = 2000
PRACTICES_MAX = 10
PRACTICE_MAX = 200


def check_rating(
    v: Violations, name: str, value: int | None, bounds: tuple[int, int] = RATING
) -> None:
    low, high = bounds
    v.check(value is not None and low <= value <= high, name, f"must be {low}-{high}")


def check_text(v: Violations, name: str, text: str, limit: int) -> None:
    v.check(len(text) <= limit, name, f"must be at most {limit} characters")
    v.check(
        all(ch.isprintable() or ch in "\n\t" for ch in text),
        name,
        "must not contain control characters",
    )


@dataclass(frozen=True)
class SessionAnswers:
    """One member's feedback on one session."""

    usefulness: int
    topics: tuple[str, ...] = ()
    #: mentees: practices they will adopt, and their confidence applying them
    practices: tuple[str, ...] = ()
    confidence: int | None = None
    #: mentors: how well they think they taught
    pedagogy: int | None = None
    #: seen by its author only
    note: str = ""

    def check(self, side: str, catalogue: Iterable[str]) -> None:
        """Raise ValidationFailed naming every bad field for a ``side`` member."""
        v = Violations()
        check_rating(v, "usefulness", self.usefulness)
        known = set(catalogue)
        for i, topic in enumerate(self.topics):
            v.check(topic in known, f"topics[{i}]", "is not a topic of the programme")
        v.check(len(set(self.topics)) == len(self.topics), "topics", "must not repeat a topic")
        if side == MENTEE:
            check_rating(v, "confidence", self.confidence)
            v.check(self.pedagogy is None, "pedagogy", "is for mentors")
            v.check(len(self.practices) <= PRACTICES_MAX, "practices", f"at most {PRACTICES_MAX}")
            for i, practice in enumerate(self.practices):
                v.check(bool(practice.strip()), f"practices[{i}]", "must not be empty")
                check_text(v, f"practices[{i}]", practice, PRACTICE_MAX)
        else:
            check_rating(v, "pedagogy", self.pedagogy)
            v.check(self.confidence is None, "confidence", "is for mentees")
            v.check(not self.practices, "practices", "are for mentees")
        check_text(v, "note", self.note, NOTE_MAX)
        v.raise_if_any()

    def ratings(self) -> dict[str, Any]:
        """What may be shown to the other member and published: no free text."""
        out: dict[str, Any] = {"usefulness": self.usefulness, "topics": list(self.topics)}
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.pedagogy is not None:
            out["pedagogy"] = self.pedagogy
        return out


@dataclass(frozen=True)
class SurveyAnswers:
    """A baseline or end survey. Mentees rate their skill per catalogue topic;
    mentors rate their coaching confidence and pedagogy; both rate their
    understanding of the other generation and would-recommend (0-10)."""

    understanding: int
    recommend: int
    skills: Mapping[str, int] = field(default_factory=dict)
    coaching_confidence: int | None = None
    pedagogy: int | None = None

    def check(self, side: str, catalogue: Sequence[str]) -> None:
        v = Violations()
        check_rating(v, "understanding", self.understanding)
        check_rating(v, "recommend", self.recommend, RECOMMEND)
        if side == MENTEE:
            missing = [t for t in catalogue if t not in self.skills]
            v.check(
                not missing, "skills", f"rate every topic of the programme: {', '.join(missing)}"
            )
            for topic, level in sorted(self.skills.items()):
                if v.check(
                    topic in catalogue, f"skills[{topic[:40]}]", "is not a topic of the programme"
                ):
                    check_rating(v, f"skills[{topic}]", level)
            v.check(self.coaching_confidence is None, "coaching_confidence", "is for mentors")
            v.check(self.pedagogy is None, "pedagogy", "is for mentors")
        else:
            check_rating(v, "coaching_confidence", self.coaching_confidence)
            check_rating(v, "pedagogy", self.pedagogy)
            v.check(not self.skills, "skills", "are rated by mentees")
        v.raise_if_any()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"understanding": self.understanding, "recommend": self.recommend}
        if self.skills:
            out["skills"] = dict(sorted(self.skills.items()))
        if self.coaching_confidence is not None:
            out["coaching_confidence"] = self.coaching_confidence
        if self.pedagogy is not None:
            out["pedagogy"] = self.pedagogy
        return out
