"""Prefect flows: wiring only, one per stage plus the whole pipeline."""
