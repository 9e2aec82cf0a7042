"""Thin Prefect adapters: load inputs, call one pure function, write and register a checkpoint."""
