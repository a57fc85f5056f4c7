"""Pure enrolment domain: no gRPC, NATS or SQL here."""
