"""Is this participant the caller? Asked of enrolment, with the caller's own token.

Training never learns employee ids (personal data is not on NATS), so for a
mentor or mentee it forwards their bearer token to enrolment's
``GetParticipant``: enrolment answers only for the caller's own participant
(NOT_FOUND otherwise). Answers are cached briefly per (token, participant).
"""

from __future__ import annotations

import hashlib
import os
import time

import grpc

from revmentor.enrolment.v1 import enrolment_pb2 as enrolment_pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as enrolment_grpc
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


class OwnershipCheck:
    def __init__(self, address: str | None = None, ttl_seconds: float = 30.0, timeout: float = 5.0):
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
            channel = self._channels[address] = secure_aio_channel(address, "training")
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
