"""The content join: link the catalogue to every configured content source (pure, no Prefect)."""
