"""What every command shares: expected failures, exit codes, terminal output."""

from __future__ import annotations

import sys
import threading
import time
import unicodedata
from typing import TextIO

import grpc

#: A call's failure that means "not reachable" (retry later), not "refused".
LOST = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

#: Exit codes of every command.
EXIT_OK = 0
EXIT_FAILED = 1  # bad input, rejected rows, a service that died
EXIT_UNREACHABLE = 2  # the service (or NATS) could not be reached


class CliError(Exception):
    """An expected failure: printed as a message with what to do next, never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


_lock = threading.Lock()


def emit(line: str, stream: TextIO | None = None) -> None:
    """Write one whole line, never interleaved with another thread's line."""
    target = stream or sys.stdout
    with _lock:
        target.write(line + "\n")
        target.flush()


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) -> (host, port); CliError when malformed."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"{address!r} is not an address like 127.0.0.1:50051 (HOST:PORT)")
    return host, int(port)


class Progress:
    """Progress of long work on stderr: one line rewritten in place on a
    terminal, a line every few seconds otherwise (logs stay readable), so a
    long import or replay never looks hung."""

    def __init__(
        self,
        label: str,
        total: int,
        unit: str = "",
        stream: TextIO | None = None,
        every_seconds: float = 5.0,
    ):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_seconds = every_seconds
        self.last = time.monotonic()
        self.shown = False

    def _text(self, done: int, detail: str) -> str:
        unit = f" {self.unit}" if self.unit else ""
        share = f" {100 * done // self.total:3d}%" if self.total else ""
        bar = self._bar(done) if self.tty and self.total else ""
        text = f"{self.label}:{share} {bar}{done}/{self.total}{unit}"
        return f"{text} ({detail})" if detail else text

    def _bar(self, done: int, width: int = 24) -> str:
        filled = min(width, width * done // self.total)
        return "[" + "#" * filled + "." * (width - filled) + "] "

    def update(self, done: int, detail: str = "") -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + self._text(done, detail))
            self.stream.flush()
            self.shown = True
        elif time.monotonic() - self.last >= self.every_seconds or done == self.total:
            self.last = time.monotonic()
            emit(self._text(done, detail), self.stream)

    def clear(self) -> None:
        """Before another line is printed, so the two do not mix."""
        if self.tty and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def printable(text: str) -> str:
    """Control and format characters escaped: a value from a service or a store
    cannot drive the terminal."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch)[0] == "C" else ch for ch in text)
