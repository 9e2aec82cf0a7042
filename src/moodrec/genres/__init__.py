"""Genre graph, genre embeddings, per-track genre vectors and the song map (no Prefect)."""
