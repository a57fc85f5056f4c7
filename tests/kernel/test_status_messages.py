"""Status messages may quote what a client sent; they are logged and shown as
they are, so they must never carry control characters (a forged log line, a
terminal colour) - and must still fit a client's trailers."""

from __future__ import annotations

from revmentor.kernel.errors import NotFound
from revmentor.kernel.grpc_server import MAX_STATUS_MESSAGE, encoded_length, status_for

HOSTILE = "p1\n2026-11-26 INFO admin logged in\x1b[31m\u2028\x85"


def test_a_quoted_value_cannot_forge_lines_or_colours() -> None:
    message = status_for(NotFound(f"programme {HOSTILE} not found")).message
    assert not any(ch in message for ch in "\n\r\x1b\u2028\x85")
    assert message == (
        "programme p1\\n2026-11-26 INFO admin logged in\\x1b[31m\\u2028\\x85 not found"
    )


def test_escaping_keeps_printable_text_and_still_fits() -> None:
    assert status_for(NotFound("programme é 😀 not found")).message == "programme é 😀 not found"
    message = status_for(NotFound("\n" * 10_000)).message
    assert encoded_length(message) <= MAX_STATUS_MESSAGE
    assert message.startswith("\\n\\n") and message.endswith("...")
