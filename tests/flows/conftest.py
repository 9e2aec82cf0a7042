"""Flow tests share the session's one temporary Prefect API: the ``harness`` fixture of
``tests/conftest.py``."""
