"""The matching service: pairs each mentee with a certified younger mentor.

Today only its pure domain core exists (``revmentor.matching.domain``): the
constraints, the score, the whole-cohort solver and the round that ties them
together. The application, gRPC API and events are wired in a later step;
there is deliberately no ``main.py`` yet, so ``revmentor up`` does not try to
start a service that cannot serve.
"""
