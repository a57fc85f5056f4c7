"""The training service: curricula, training records and mentor certification.

Certification is the gate to matching: the matching pool admits only mentors
this service reports as certified (DESIGN section 2).
"""
