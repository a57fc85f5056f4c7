"""Enrolment service: programmes (cohorts), participants, profiles and consent.

Layout (the same in every service): ``domain/`` pure rules and aggregates,
``application.py`` commands and queries over the event store, ``readmodel.py``
the projection behind list queries, ``integration.py`` which domain events are
published and how, ``api.py`` the thin gRPC adapter, ``main.py`` the process.
"""
