"""Tools for the course's authors and instructors, run from a clone of the repository.

``python -m authoring release`` makes the student notebooks from the solutions (and with
``--execute`` re-runs the solutions first; with ``--nbgrader COURSE`` it writes an nbgrader
course's source tree instead); ``python -m authoring site`` builds the website. They read
``notebooks/solutions/``, which only a clone holds, so they live here beside the package and
are not installed with it: a student's ``pip install`` gets :mod:`rnncourse` alone.
CONTRIBUTING.md says more.
"""
