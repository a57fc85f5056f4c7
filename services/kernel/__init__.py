"""Shared building blocks every revmentor service stands on.

Event store wiring, event envelopes (actor, correlation, causation), the outbox
relay to NATS JetStream, the durable consumer base, the gRPC bootstrap with one
error mapping, and OpenTelemetry set-up. Nothing here knows any one service.
"""
