"""Page tokens and page sizes, the same for every list query."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TypeVar

from revmentor.kernel.errors import Violations

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def _decode(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        kind, offset = text.split(":", 1)
        return int(offset) if kind == "o" and int(offset) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def page(items: Sequence[T], page_size: int, page_token: str) -> tuple[list[T], str]:
    """One page of ``items`` and the token for the next ('' on the last page)."""
    v = Violations()
    v.check(0 <= page_size <= MAX_PAGE_SIZE, "page_size", f"must be 0-{MAX_PAGE_SIZE} (0 = 50)")
    offset = _decode(page_token) if page_token else 0
    v.check(offset is not None, "page_token", "is not a token returned by a previous call")
    v.raise_if_any()
    assert offset is not None
    size = page_size or DEFAULT_PAGE_SIZE
    chunk = list(items[offset : offset + size])
    end = offset + len(chunk)
    token = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else ""
    return chunk, token
