"""Pure scheduling domain: no gRPC, NATS or SQL here. Times are UTC
``datetime`` values inside; local wall-clock times and IANA zones exist only
at the edges (``times``), where daylight-saving rules are applied."""
