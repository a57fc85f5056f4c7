"""The scheduling service process: ``python -m revmentor.scheduling.main``.

Background jobs: the enrolment and matching subscriptions (programme facts,
mentorships opened and ended, erasure), session reminders every
``SCHEDULING_REMINDER_CHECK_SECONDS`` (default 60) and stalled mentorships
every ``SCHEDULING_STALL_CHECK_SECONDS`` (default 3600). Weekly availability
for slot suggestions is asked of enrolment at ``REVMENTOR_ENROLMENT_ADDR`` with
the service token in ``REVMENTOR_SCHEDULING_TOKEN_FILE``; whether a participant
is the caller is asked of enrolment with the caller's own token.
"""

from __future__ import annotations

from revmentor.kernel.attributes import EnrolmentAttributes
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.kernel.service import ServiceParts, main
from revmentor.kernel.settings import ServiceSettings, env
from revmentor.scheduling.api import SERVICE_NAME, SchedulingServicer
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.integration import translate
from revmentor.scheduling.subscriptions import (
    REMINDER_CHECK_SECONDS,
    STALL_CHECK_SECONDS,
    reminder_job,
    stall_job,
    subscription_job,
)
from revmentor.scheduling.v1 import scheduling_pb2_grpc

SERVICE = "scheduling"


def build() -> ServiceParts:
    app = SchedulingApplication(attributes=EnrolmentAttributes(SERVICE))
    settings = ServiceSettings.from_env(SERVICE)
    reminders = float(env("SCHEDULING_REMINDER_CHECK_SECONDS", str(REMINDER_CHECK_SECONDS)))
    stalls = float(env("SCHEDULING_STALL_CHECK_SECONDS", str(STALL_CHECK_SECONDS)))
    return ServiceParts(
        app=app,
        register=scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server,
        servicer=SchedulingServicer(app, OwnershipCheck(SERVICE)),
        service_names=[SERVICE_NAME],
        translate=translate,
        background=[
            subscription_job(app, settings.nats_url),
            reminder_job(app, reminders),
            stall_job(app, stalls),
        ],
    )


if __name__ == "__main__":
    main(SERVICE, build)
