"""Pure feedback domain: no gRPC, NATS or SQL. Rules of submission, blind
reveal and confidentiality (``session``), surveys (``survey``), the outcomes
report with small-group suppression (``outcomes``) and the at-risk rules
(``risk``)."""
