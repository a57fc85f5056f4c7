"""The feedback service: session feedback, surveys, programme outcomes and
pairs at risk - the evidence a programme is run for, without betraying
confidences."""
