"""Names shared by every stage: the seed study's audio features and super-genres.

One home for them, so the sandbox, the providers, the fake servers, clustering and the genre
stage cannot drift apart.
"""

from __future__ import annotations

from typing import Any

#: The seed study's twelve Spotify audio features, in the order the Web API documents them.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
)

#: The audio features on a continuous scale (``key`` and ``mode`` are categorical).
CONTINUOUS_AUDIO_FEATURES: tuple[str, ...] = tuple(
    f for f in AUDIO_FEATURES if f not in {"key", "mode"}
)

#: The seed study's nine super-genres.
SUPER_GENRES: tuple[str, ...] = (
    "pop",
    "rock",
    "electronica",
    "hip hop",
    "classical",
    "jazz",
    "folk",
    "metal",
    "experimental",
)


def topic_share_columns(frame: Any) -> list[str]:
    """The topic-share columns of a ``track_topics`` table, in order.

    Named ``topic_<k>`` / ``topic_<lang>_<k>`` (:func:`moodrec.topics.lda.topic_column`) and
    numeric; ``dominant_topic``/``dominant_topic_key`` and ``language`` are not shares.
    """
    return [
        str(c)
        for c in frame.columns
        if str(c).startswith("topic_") and frame[c].dtype.kind in "fiu"
    ]
