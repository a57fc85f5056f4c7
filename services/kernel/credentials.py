"""A service's own bearer token, for its calls to other services.

A service calling another (matching asking enrolment for attributes) presents
its own identity: a JWT with role ``service`` and a ``service`` claim naming
it (see :mod:`revmentor.kernel.auth`). The token is never configured inline;
it lives in a file named by

    REVMENTOR_<SERVICE>_TOKEN_FILE   (e.g. REVMENTOR_MATCHING_TOKEN_FILE)
    REVMENTOR_SERVICE_TOKEN_FILE     fallback, when one file serves the process

and the file is read again whenever it changes (modification time, inode or
size), so a Kubernetes projected service-account token, a sidecar that
re-mints it, or ``revmentor up`` replacing it atomically just works without a
restart. Surrounding whitespace and a leading ``Bearer `` are ignored.

A missing variable, an unreadable file or an empty one is a
:class:`ServiceTokenUnavailable` naming the variable to fix.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

FALLBACK_VARIABLE = "REVMENTOR_SERVICE_TOKEN_FILE"


class ServiceTokenUnavailable(Exception):
    """The service has no usable token of its own; the message says what to set."""


def token_variable(service: str) -> str:
    """``REVMENTOR_<SERVICE>_TOKEN_FILE`` (dashes become underscores)."""
    return f"REVMENTOR_{service.upper().replace('-', '_')}_TOKEN_FILE"


@dataclass(frozen=True)
class _Read:
    path: str
    stamp: tuple[int, int, int]  # mtime_ns, inode, size
    token: str


class ServiceToken:
    """``ServiceToken("matching")()`` is matching's current bearer token.

    The variables are looked up on every call (cheap) and the file is re-read
    only when its stamp changed, so calling it per request costs one ``stat``.
    The stamp kept is the one of the file actually read (``fstat``), so a file
    replaced while being read is read again on the next call. Thread-safe.
    """

    def __init__(self, service: str) -> None:
        if not service:
            raise ValueError("a service token belongs to a named service")
        self.service = service
        self._lock = threading.Lock()
        self._read: _Read | None = None

    @property
    def variable(self) -> str:
        """The variable to set (the service's own; shown in every error)."""
        return token_variable(self.service)

    def path(self) -> tuple[str, str]:
        """(variable used, file path); raises when neither variable is set."""
        for name in (self.variable, FALLBACK_VARIABLE):
            value = os.environ.get(name, "").strip()
            if value:
                return name, value
        raise ServiceTokenUnavailable(
            f"{self.service} has no service token: set {self.variable} (or "
            f"{FALLBACK_VARIABLE}) to a file holding its bearer token (a JWT with the "
            f"'service' claim {self.service!r}; `revmentor up` writes one under var/secrets/)"
        )

    def __call__(self) -> str:
        return self.token()

    def token(self) -> str:
        variable, path = self.path()
        try:
            status = os.stat(path)
        except OSError as error:
            raise ServiceTokenUnavailable(
                f"{variable}={path}: cannot read the {self.service} service token "
                f"({error.strerror or error})"
            ) from None
        stamp = (status.st_mtime_ns, status.st_ino, status.st_size)
        with self._lock:
            cached = self._read
            if cached is not None and cached.path == path and cached.stamp == stamp:
                return cached.token
            token, stamp = self._load(variable, path)
            self._read = _Read(path, stamp, token)
            return token

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """gRPC call metadata carrying the token."""
        return (("authorization", f"Bearer {self.token()}"),)

    def _load(self, variable: str, path: str) -> tuple[str, tuple[int, int, int]]:
        """The token and the stamp of the very file it was read from."""
        try:
            with open(path, encoding="utf-8") as handle:
                status = os.fstat(handle.fileno())
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise ServiceTokenUnavailable(
                f"{variable}={path}: cannot read the {self.service} service token ({reason})"
            ) from None
        token = text.strip()
        scheme, _, rest = token.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        if not token:
            raise ServiceTokenUnavailable(
                f"{variable}={path}: the {self.service} service token file is empty"
            )
        if any(c.isspace() for c in token):
            raise ServiceTokenUnavailable(
                f"{variable}={path}: the file must hold exactly one token (found whitespace)"
            )
        return token, (status.st_mtime_ns, status.st_ino, status.st_size)
