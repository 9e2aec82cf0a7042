"""Honest evaluation: interaction matrices, seeded splits, full-ranking metrics, statistics."""
