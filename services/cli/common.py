"""What every command shares: expected failures, exit codes, terminal output."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

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
