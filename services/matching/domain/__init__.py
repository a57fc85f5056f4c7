"""Pure matching domain: no gRPC, NATS or SQL here.

Everything a round needs arrives as frozen values (``candidates``), already
fetched from enrolment and training, so a round is a deterministic function of
its inputs and can be re-run and audited from its recorded digest.
"""
