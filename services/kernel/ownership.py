"""Who is calling, and is this participant them? Asked of enrolment, with the caller's token.

Only enrolment knows which participant is which employee: employee ids never
travel on NATS, so no other service can tell on its own whether a mentor or
mentee is looking at their own data. :class:`OwnershipCheck` forwards the
caller's own bearer token to enrolment's ``GetParticipant``, which answers
only for the caller's own participant (NOT_FOUND otherwise). Answers are
cached briefly per (token, participant).

Shared by every service whose participants read their own records (training,
matching); the service's name picks its client TLS settings.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import NoReturn

import grpc

from revmentor.enrolment.v1 import enrolment_pb2 as enrolment_pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as enrolment_grpc
from revmentor.kernel import context
from revmentor.kernel.auth import AccessDenied, Principal
from revmentor.kernel.tls import secure_aio_channel

ADDRESS_VARIABLE = "REVMENTOR_ENROLMENT_ADDR"
DEFAULT_ADDRESS = "127.0.0.1:50051"
#: Answers that mean "not yours" (or "not a participant id"): a plain no.
_NOT_YOURS = {
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.INVALID_ARGUMENT,
}
MAX_CACHED = 10_000


class EnrolmentUnavailable(Exception):
    """Enrolment could not answer (down, overloaded, or refused our caller's token)."""


def caller() -> Principal:
    """The authenticated caller of the current RPC (set by the kernel's interceptor)."""
    principal = context.current().principal
    if principal is None:
        raise AccessDenied("no authenticated caller")
    return principal


def authorization(ctx: grpc.aio.ServicerContext) -> str:
    """The caller's ``authorization`` metadata, to forward as-is to enrolment."""
    for key, value in ctx.invocation_metadata() or ():
        if key == "authorization":
            return str(value)
    return ""


class OwnershipCheck:
    """Asks enrolment whether a participant is the caller's own, as ``service``."""

    def __init__(
        self,
        service: str,
        address: str | None = None,
        ttl_seconds: float = 30.0,
        timeout: float = 5.0,
    ):
        self.service = service
        self._address = address
        self.ttl_seconds = ttl_seconds
        self.timeout = timeout
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}

    @property
    def address(self) -> str:
        return self._address or os.environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS

    def _stub(self) -> enrolment_grpc.EnrolmentServiceStub:
        address = self.address
        channel = self._channels.get(address)
        if channel is None:
            channel = self._channels[address] = secure_aio_channel(address, self.service)
        return enrolment_grpc.EnrolmentServiceStub(channel)

    async def owns(self, authorization: str, participant_id: str) -> bool:
        """True if enrolment shows ``participant_id`` to the bearer of ``authorization``."""
        key = (hashlib.sha256(authorization.encode()).hexdigest(), participant_id)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            await self._stub().GetParticipant(
                enrolment_pb.GetParticipantRequest(participant_id=participant_id),
                metadata=(("authorization", authorization),),
                timeout=self.timeout,
            )
            own = True
        except grpc.aio.AioRpcError as error:
            if error.code() not in _NOT_YOURS:
                raise EnrolmentUnavailable(
                    f"enrolment could not confirm the participant ({error.code().name})"
                ) from None
            own = False
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key] = (now + self.ttl_seconds, own)
        return own

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()


async def enrolment_unavailable(
    ctx: grpc.aio.ServicerContext, error: Exception, service: str
) -> NoReturn:
    """UNAVAILABLE, saying what failed and what to do; nothing was written.

    For the questions a service asks enrolment while serving a call (is this
    participant the caller? what are their attributes?).
    """
    await ctx.abort(
        grpc.StatusCode.UNAVAILABLE,
        f"{error}. Nothing was changed: retry once enrolment answers again "
        f"(check that the enrolment service is running and reachable from {service}).",
    )
    raise AssertionError("abort returned")  # pragma: no cover - abort always raises
