"""The ephemeral recommender: listening sessions, mood signals, next-track recommendation."""
