"""moodrec: listening logs → enriched tracks, topics, embeddings and evaluated recommenders."""

__version__ = "0.1.0"
