"""The enrolment service process: ``python -m revmentor.enrolment.main``."""

from __future__ import annotations

from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.integration import translate
from revmentor.enrolment.v1 import enrolment_pb2_grpc
from revmentor.kernel.service import ServiceParts, main


def build() -> ServiceParts:
    app = EnrolmentApplication()
    return ServiceParts(
        app=app,
        register=enrolment_pb2_grpc.add_EnrolmentServiceServicer_to_server,
        servicer=EnrolmentServicer(app),
        service_names=[SERVICE_NAME],
        translate=translate,
    )


if __name__ == "__main__":
    main("enrolment", build)
