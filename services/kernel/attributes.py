"""Enrolment's personal attributes of participants, fetched over gRPC for the
length of one command (DESIGN section 4: asked of the owner at the moment of use).

:class:`EnrolmentAttributes` is the attribute source of matching (rounds,
manual matches) and scheduling (slot suggestions): it calls enrolment's
``GetMatchingAttributes`` with the calling service's own token
(:class:`~revmentor.kernel.credentials.ServiceToken`, from
``REVMENTOR_<SERVICE>_TOKEN_FILE``), at most :data:`CHUNK` ids per call, and
maps the messages to plain dicts (see :func:`attributes_dict`). Applications
run commands in worker threads, so the channel is a blocking one
(``kernel.tls.secure_channel``: TLS when ``GRPC_TLS_*`` say so).

Called with ``as_of`` (an aware datetime), it asks for the attributes as they
were at that instant (``GetMatchingAttributesRequest.as_of``, rebuilt by
enrolment from its stored events): an auditor re-running a recorded matching
round. Without it, the attributes now, as every live command wants.

Whatever goes wrong (enrolment down, our token refused or missing) becomes
:class:`AttributesUnavailable` with a message saying what to check.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import grpc

from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel import timestamps
from revmentor.kernel.credentials import ServiceToken, ServiceTokenUnavailable
from revmentor.kernel.tls import secure_channel

ADDRESS_VARIABLE = "REVMENTOR_ENROLMENT_ADDR"
DEFAULT_ADDRESS = "127.0.0.1:50051"
#: Enrolment answers 1-1000 ids per call.
CHUNK = 1000
TIMEOUT_SECONDS = 10.0

ROLES = {pb.ROLE_MENTOR: "mentor", pb.ROLE_MENTEE: "mentee"}
STATUSES = {
    pb.PARTICIPANT_STATUS_ENROLLED: "enrolled",
    pb.PARTICIPANT_STATUS_WITHDRAWN: "withdrawn",
    pb.PARTICIPANT_STATUS_ERASED: "erased",
}
MEETING_PREFERENCES = {
    pb.MEETING_PREFERENCE_IN_PERSON: "in_person",
    pb.MEETING_PREFERENCE_VIRTUAL: "virtual",
    pb.MEETING_PREFERENCE_EITHER: "either",
}


class AttributesUnavailable(Exception):
    """Enrolment could not be asked for attributes (down, or refused our token)."""


def as_of_text(instant: datetime) -> str:
    """RFC 3339 UTC to the microsecond: stored events are stamped that finely, and
    a round's record may follow a profile change within the same second."""
    if instant.tzinfo is None:
        raise ValueError("as_of must be an aware datetime (with a UTC offset)")
    return timestamps.instant(instant)


def attributes_dict(message: pb.MatchingAttributes) -> dict[str, Any]:
    """One participant's attributes as the pool reads them (unknown enums -> "")."""
    return {
        "participant_id": message.participant_id,
        "role": ROLES.get(message.role, ""),
        # "" is not "enrolled": a status we cannot read never makes a candidate
        "status": STATUSES.get(message.status, ""),
        "employee_id": message.employee_id,
        "manager_employee_id": message.manager_employee_id,
        "department": message.department,
        "site": message.site,
        "time_zone": message.time_zone,
        "birth_year": message.birth_year,
        "languages": list(message.languages),
        "skills_offered": list(message.skills_offered),
        "skill_levels": dict(message.skill_levels),
        "learning_needs": [(n.topic, n.priority) for n in message.learning_needs],
        "availability": [(w.weekday, w.start_time, w.end_time) for w in message.availability],
        "meeting_preference": MEETING_PREFERENCES.get(message.meeting_preference, ""),
    }


class EnrolmentAttributes:
    """``(participant ids) -> {participant_id: attributes}``, asked of enrolment
    on behalf of ``service`` (its token, its TLS settings).

    ``address`` defaults to ``REVMENTOR_ENROLMENT_ADDR`` (read at call time),
    ``token`` to the service's :class:`ServiceToken`. Ids enrolment does not
    return are simply absent from the answer. Thread-safe.
    """

    def __init__(
        self,
        service: str,
        address: str | None = None,
        token: Callable[[], str] | None = None,
        timeout: float = TIMEOUT_SECONDS,
        chunk: int = CHUNK,
    ) -> None:
        if not 1 <= chunk <= CHUNK:
            raise ValueError(f"chunk must be 1-{CHUNK}")
        self._address = address
        self.service = service
        self._service_token = ServiceToken(service)
        self._token = token or self._service_token
        self.timeout = timeout
        self.chunk = chunk
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}

    @property
    def address(self) -> str:
        return self._address or os.environ.get(ADDRESS_VARIABLE) or DEFAULT_ADDRESS

    @property
    def token_variable(self) -> str:
        return self._service_token.variable

    def _stub(self, address: str) -> pb_grpc.EnrolmentServiceStub:
        with self._lock:
            channel = self._channels.get(address)
            if channel is None:
                channel = self._channels[address] = secure_channel(address, self.service)
        return pb_grpc.EnrolmentServiceStub(channel)

    def __call__(
        self, ids: Sequence[str], as_of: datetime | None = None
    ) -> Mapping[str, Mapping[str, Any]]:
        """``as_of``: the attributes as they were then (None: now)."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        when = as_of_text(as_of) if as_of is not None else ""
        try:
            metadata = (("authorization", f"Bearer {self._token()}"),)
        except ServiceTokenUnavailable as error:
            raise AttributesUnavailable(f"cannot ask enrolment for attributes: {error}") from None
        address = self.address
        stub = self._stub(address)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), self.chunk):
            request = pb.GetMatchingAttributesRequest(
                participant_ids=wanted[start : start + self.chunk], as_of=when
            )
            try:
                reply = stub.GetMatchingAttributes(request, metadata=metadata, timeout=self.timeout)
            except grpc.RpcError as error:
                raise AttributesUnavailable(self.explain(address, error, when)) from None
            for message in reply.attributes:
                found[message.participant_id] = attributes_dict(message)
        return found

    def explain(self, address: str, error: grpc.RpcError, as_of: str = "") -> str:
        """What failed, and what to do about it, in one sentence."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        said = f"{code.name}: {details}" if details else code.name
        where = f"enrolment at {address}"
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return f"{where} refused {self.service}'s token ({said}): check {self.token_variable}"
        if code == grpc.StatusCode.PERMISSION_DENIED:
            return (
                f"{where} does not let {self.service}'s token read attributes ({said}): "
                f"the token in {self.token_variable} must be a service token "
                f"(claim 'service': '{self.service}')"
            )
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return (
                f"{where} did not answer ({said}): is enrolment running? "
                f"check {ADDRESS_VARIABLE}; retry when it is back"
            )
        if code == grpc.StatusCode.NOT_FOUND and as_of:
            return (
                f"{where} knows no such participant as of {as_of} ({said}): enrolled later "
                f"than that by enrolment's clock (is it behind {self.service}'s?), or never"
            )
        if code == grpc.StatusCode.NOT_FOUND:
            return (
                f"{where} does not know one of the participants asked for ({said}): "
                f"{self.service} may be ahead of enrolment's latest events; retry shortly"
            )
        return f"{where} could not give the attributes ({said})"

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
