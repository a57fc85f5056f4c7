"""revmentor: an event-sourced platform for enterprise reverse-mentoring programmes.

The ``services/`` folder is the ``revmentor`` import root: ``services/kernel`` is
``revmentor.kernel`` (shared building blocks), ``services/enrolment`` is
``revmentor.enrolment`` and so on, one folder per service.
"""
