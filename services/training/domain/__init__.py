"""Pure training domain: no gRPC, NATS or SQL here."""
