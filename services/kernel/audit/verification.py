"""Verification: recompute the chain and compare it with the table and checkpoints.

Split out of the audit package because the rules for deciding what is broken,
and where, are the subtle part; here they read on their own. (Named
``verification`` so the module does not shadow the :func:`verify` the package
exports.)

:func:`verify` recomputes the chain over the rows as they are now, in pages
(memory stays flat), and compares it

1. with the chain table, row by row: the first position where the hashes
   differ, or a position present in one and not in the other, is broken
   ("row 42 changed", "row 17 missing", "row 30 is not in the chain");
2. with every checkpoint whose signature is valid and whose key is trusted
   (others are reported as rejected and prove nothing): its position must hold
   its hash. A checkpoint that does not match while the chain table still
   holds its hash confirms the row-level finding. One that does not match the
   chain table either means the chain table was rewritten (or truncated) along
   with the rows; the checkpoint cannot say which row changed, so the first
   broken position is *the first position after the last checkpoint that
   matched*: nothing from there on can be trusted.

The first broken position reported is the smallest of the two. What this
cannot catch: rows appended after the last chained position (they are simply
not chained yet; a forger with write access to the database can append like
the service does), and a consistent rewrite of rows *and* chain table after
the last checkpoint. Checkpoint often enough (``AUDIT_CHECKPOINT_SECONDS``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.audit.chain import (
    PAGE_SIZE,
    ChainEntry,
    ChainTable,
    genesis,
    link,
    log_rows,
)
from revmentor.kernel.audit.signing import (
    Checkpoint,
    trusted_keys,
    verify_checkpoint_signature,
)


@dataclass(frozen=True)
class VerificationReport:
    """What :func:`verify` found. ``ok`` only with no break and no rejected checkpoint."""

    service: str
    ok: bool
    first_broken_position: int | None
    reason: str
    rows: int  # rows in the log now
    chained: int  # the chain table's last position
    chain_entries: int  # rows in the chain table
    unchained: int  # rows after the chained range, not chained yet (not a break)
    checkpoints: int  # trusted checkpoints compared
    last_verified_checkpoint: int  # highest checkpoint position matched before any break
    rejected: tuple[str, ...] = ()  # checkpoints with a bad signature, unknown key...

    def describe(self) -> str:
        if self.ok:
            return (
                f"{self.service}: ok - {self.rows} rows, chained to {self.chained}, "
                f"{self.checkpoints} checkpoints, last at {self.last_verified_checkpoint}"
            )
        return f"{self.service}: BROKEN - {self.reason}"


def _accepted(
    service: str, checkpoints: Iterable[Checkpoint], trusted: Mapping[str, bytes]
) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints that prove something, and why the others do not."""
    accepted, rejected = [], []
    for cp in checkpoints:
        if cp.service != service:
            rejected.append(f"checkpoint at {cp.position} is for service {cp.service!r}")
        elif not verify_checkpoint_signature(cp):
            rejected.append(f"checkpoint at {cp.position}: signature invalid (forged or altered)")
        elif trusted.get(cp.key_id) != base64.b64decode(cp.public_key):
            rejected.append(f"checkpoint at {cp.position}: signed by unknown key {cp.key_id}")
        else:
            accepted.append(cp)
    accepted.sort(key=lambda cp: cp.position)
    return accepted, rejected


def _merged(
    rows: Iterator[Notification], entries: Iterator[ChainEntry]
) -> Iterator[tuple[int, Notification | None, ChainEntry | None]]:
    """Log rows and chain entries side by side, by position (either may be absent)."""
    row, entry = next(rows, None), next(entries, None)
    while row is not None or entry is not None:
        present = [row.id] if row is not None else []
        present += [entry.position] if entry is not None else []
        position = min(present)
        here_row = row if row is not None and row.id == position else None
        here_entry = entry if entry is not None and entry.position == position else None
        yield position, here_row, here_entry
        if here_row is not None:
            row = next(rows, None)
        if here_entry is not None:
            entry = next(entries, None)


def verify(
    app: ServiceApplication,
    checkpoints: Iterable[Checkpoint] = (),
    *,
    trusted: Mapping[str, bytes] | None = None,
    page_size: int = PAGE_SIZE,
) -> VerificationReport:
    """Recompute the chain over the rows as stored now; compare with the chain
    table and the checkpoints (see the module docstring for the rules)."""
    service = app.name
    if trusted is None:
        trusted = trusted_keys(app.env.get, service)
    anchors, rejected = _accepted(service, checkpoints, trusted)
    wanted = {cp.position for cp in anchors}
    table = ChainTable.for_recorder(app.recorder)
    head = table.head()
    chained = head.position if head is not None else 0
    # A trusted checkpoint says its position was chained, whatever the table says now.
    chained_until = max([chained, *wanted])

    at_anchor: dict[int, tuple[bytes | None, bytes | None]] = {}
    current = genesis(service)
    row_break: tuple[int, str] | None = None
    rows = entries = unchained = 0
    for position, row, entry in _merged(log_rows(app, page_size), table.all_entries(page_size)):
        if row is not None:
            current = link(current, row)
            rows += 1
        if entry is not None:
            entries += 1
        if position in wanted:
            at_anchor[position] = (
                current if row is not None else None,
                entry.hash if entry is not None else None,
            )
        if row is not None and entry is None and position > chained_until:
            unchained += 1
        elif row_break is None:
            if row is None:
                row_break = (position, f"row {position} missing: chained, no longer in the log")
            elif entry is None:
                row_break = (position, f"row {position} is not in the chain: added after chaining")
            elif entry.hash != current:
                row_break = (position, f"row {position} changed (or its chain entry did)")

    checkpoint_break, last_good, compared = _check_anchors(
        anchors, at_anchor, row_break, lambda after: _first_position_after(app, table, after)
    )
    found = [b for b in (checkpoint_break, row_break) if b is not None]
    first = min(found, key=lambda b: b[0]) if found else None
    reason = first[1] if first else (rejected[0] if rejected else "")
    return VerificationReport(
        service=service,
        ok=first is None and not rejected,
        first_broken_position=first[0] if first else None,
        reason=reason,
        rows=rows,
        chained=chained,
        chain_entries=entries,
        unchained=unchained,
        checkpoints=compared,
        last_verified_checkpoint=last_good,
        rejected=tuple(rejected),
    )


def _check_anchors(
    anchors: Sequence[Checkpoint],
    at_anchor: Mapping[int, tuple[bytes | None, bytes | None]],
    row_break: tuple[int, str] | None,
    first_after: Callable[[int], int],
) -> tuple[tuple[int, str] | None, int, int]:
    """(break found through a checkpoint, last matching checkpoint, checkpoints compared)."""
    last_good = 0
    for compared, cp in enumerate(anchors, start=1):
        recomputed, stored = at_anchor.get(cp.position, (None, None))
        if recomputed == cp.hash_bytes:
            last_good = cp.position
            continue
        if stored == cp.hash_bytes and row_break is not None and row_break[0] <= cp.position:
            # The chain table still holds the signed hash: the row-level finding is exact.
            return None, last_good, compared
        position = first_after(last_good)
        if recomputed is None:
            reason = (
                f"row {cp.position} missing: the checkpoint at {cp.position} has no row; "
                f"nothing after the checkpoint at {last_good} can be trusted"
            )
        else:
            reason = (
                f"chain table rewritten: checkpoint at {cp.position} does not match; "
                f"nothing after the checkpoint at {last_good} can be trusted"
            )
        return (position, reason), last_good, compared
    return None, last_good, len(anchors)


def _first_position_after(app: ServiceApplication, table: ChainTable, after: int) -> int:
    """The first position after ``after`` in the log or the chain table (else after + 1)."""
    candidates = [n.id for n in app.notifications(after, 1)]
    candidates += [e.position for e in table.entries(after, 1)]
    return min(candidates, default=after + 1)
