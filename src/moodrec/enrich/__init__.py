"""The enrichment stage: catalogue of tracks → provider calls → enriched tables (resumable).

The entry point is :func:`moodrec.enrich.stage.run_enrichment`; its docstring lists the
modules (config, clients, plan, batch, parts, coverage, cache, outputs). This package
imports nothing on its own, so loading :mod:`moodrec.enrich.config` never loads a provider
client.
"""
