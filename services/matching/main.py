"""The matching service process: ``python -m revmentor.matching.main``.

Background jobs: the enrolment and training subscriptions (the pool) and the
expiry of unanswered proposals, every ``MATCHING_EXPIRY_CHECK_SECONDS``
(default 60). Attributes are asked of enrolment at ``REVMENTOR_ENROLMENT_ADDR``
with the service token in ``REVMENTOR_MATCHING_TOKEN_FILE``.
"""

from __future__ import annotations

from revmentor.kernel.attributes import EnrolmentAttributes
from revmentor.kernel.service import ServiceParts, main
from revmentor.kernel.settings import ServiceSettings, env
from revmentor.matching.api import SERVICE_NAME, MatchingServicer
from revmentor.matching.application import MatchingApplication
from revmentor.matching.integration import translate
from revmentor.matching.subscriptions import expiry_job, subscription_job
from revmentor.matching.v1 import matching_pb2_grpc

SERVICE = "matching"


def build() -> ServiceParts:
    app = MatchingApplication(attributes=EnrolmentAttributes(SERVICE))
    settings = ServiceSettings.from_env(SERVICE)
    every = float(env("MATCHING_EXPIRY_CHECK_SECONDS", "60"))
    return ServiceParts(
        app=app,
        register=matching_pb2_grpc.add_MatchingServiceServicer_to_server,
        servicer=MatchingServicer(app),
        service_names=[SERVICE_NAME],
        translate=translate,
        background=[subscription_job(app, settings.nats_url), expiry_job(app, every)],
    )


if __name__ == "__main__":
    main(SERVICE, build)
