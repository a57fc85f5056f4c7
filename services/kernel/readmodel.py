"""Read models: queryable state derived from a service's notification log.

A read model is pure Python. It is fed every notification in log order and
must reach the same state however it is fed (live, after a restart, or replayed
from zero); :meth:`ReadModel.digest` is the canonical fingerprint used to prove
replay equals live (DESIGN 3.3).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


class ReadModel:
    """Base read model; services override :meth:`apply` and :meth:`snapshot`."""

    def __init__(self) -> None:
        self.position = 0

    def apply_notification(self, position: int, event: Any, envelope: dict[str, Any]) -> None:
        if position <= self.position:
            return
        self.apply(event, envelope)
        self.position = position

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        """Evolve the model by one domain event (default: nothing to keep)."""

    def snapshot(self) -> Any:
        """A JSON-able, order-independent view of everything the model holds."""
        return {}

    def programme_state(self, programme_id: str) -> Any:
        """What the model holds about one programme, JSON-able and free of
        personal data: what an auditor's point-in-time replay shows and
        compares with live (:mod:`revmentor.kernel.replay`). Services override
        it; a model that keeps nothing per programme has nothing to show."""
        return {}

    def digest(self) -> str:
        canonical = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()
