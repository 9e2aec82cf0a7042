"""The sandbox world's music: genre tree, artists, tracks and their audio features.

All draws are vectorised (NumPy), so one code path serves a 40-artist and a 170k-artist
world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodrec.sandbox import vocab


@dataclass(frozen=True)
class GenreTree:
    """The fixed genre hierarchy, flattened.

    Attributes
    ----------
    names
        Shape ``(n_genres,)``: genre names (unique).
    parent
        Shape ``(n_genres,)``: index of the parent genre, -1 for super-genres.
    level
        Shape ``(n_genres,)``: 0 super-genre, 1 sub-genre, 2 micro-genre.
    super_index
        Shape ``(n_genres,)``: index of the genre's super-genre in ``vocab.SUPER_GENRES``.
    """

    names: np.ndarray
    parent: np.ndarray
    level: np.ndarray
    super_index: np.ndarray


def build_genre_tree() -> GenreTree:
    """Flatten :data:`vocab.GENRE_TREE` (super-genres first, then depth-first below them)."""
    names: list[str] = []
    parent: list[int] = []
    level: list[int] = []
    sup: list[int] = []
    for s, (super_name, _) in enumerate(vocab.GENRE_TREE):
        names.append(super_name)
        parent.append(-1)
        level.append(0)
        sup.append(s)
    for s, (_, subs) in enumerate(vocab.GENRE_TREE):
        for sub_name, micros in subs:
            sub_idx = len(names)
            names.append(sub_name)
            parent.append(s)
            level.append(1)
            sup.append(s)
            for micro in micros:
                names.append(micro)
                parent.append(sub_idx)
                level.append(2)
                sup.append(s)
    return GenreTree(
        names=np.asarray(names, dtype=object),
        parent=np.asarray(parent, dtype=np.int32),
        level=np.asarray(level, dtype=np.int8),
        super_index=np.asarray(sup, dtype=np.int8),
    )


def _categorical_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _dirichlet_rows(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (gamma trick, safe for tiny alphas)."""
    g = rng.gamma(alpha) + 1e-12
    return g / g.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Artists:
    """Artists of the world (index = world artist id).

    Attributes
    ----------
    super_genre
        Shape ``(n,)``: primary super-genre index.
    genre_offsets, genre_ids
        CSR layout of each artist's 1–4 genres (indices into the genre tree).
    cluster_probs
        Shape ``(n, n_clusters)``: the artist's mix of audio clusters.
    popularity
        Shape ``(n,)``: Zipf-like weight, sums to 1.
    language
        Shape ``(n,)``: lyric language code (``"en"`` for most).
    n_tracks
        Shape ``(n,)``: tracks per artist (≥ 1).
    """

    super_genre: np.ndarray
    genre_offsets: np.ndarray
    genre_ids: np.ndarray
    cluster_probs: np.ndarray
    popularity: np.ndarray
    language: np.ndarray
    n_tracks: np.ndarray


def build_artists(
    rng: np.random.Generator, tree: GenreTree, n_artists: int, n_tracks: int
) -> Artists:
    """Draw artists: super-genre, 1–4 genres mostly from one subtree, sound, popularity.

    Parameters
    ----------
    rng
        Stream for the artist draws.
    tree
        The genre hierarchy.
    n_artists, n_tracks
        World size; every artist gets at least one track and tracks sum to ``n_tracks``.
    """
    n_super = len(vocab.SUPER_GENRES)
    share = np.asarray(vocab.SUPER_GENRE_SHARE)
    super_genre = rng.choice(n_super, size=n_artists, p=share / share.sum()).astype(np.int8)

    # Genres: the first from the artist's own subtree (a micro- or sub-genre), the rest from
    # the same sub-genre (likely), the same super-genre, or a neighbouring super-genre.
    k = 1 + rng.choice(4, size=n_artists, p=[0.35, 0.35, 0.2, 0.1])
    by_super = [np.flatnonzero((tree.super_index == s) & (tree.level > 0)) for s in range(n_super)]
    cross = np.asarray(vocab.SUPER_GENRE_CROSSOVER)
    cross_super = _categorical_rows(rng, cross[super_genre])
    slots = np.full((n_artists, 4), -1, dtype=np.int64)
    first = np.empty(n_artists, dtype=np.int64)
    for s in range(n_super):
        rows = np.flatnonzero(super_genre == s)
        first[rows] = by_super[s][rng.integers(0, by_super[s].size, size=rows.size)]
    slots[:, 0] = first
    sub_of_first = np.where(tree.level[first] == 2, tree.parent[first], first)
    for j in range(1, 4):
        kind = rng.choice(4, size=n_artists, p=[0.45, 0.25, 0.18, 0.12])
        # 0: another genre of the same sub-genre (or the sub-genre itself)
        sibling_pick = _pick_child_or_self(rng, tree, sub_of_first)
        # 1: any genre of the same super-genre
        same_super = np.empty(n_artists, dtype=np.int64)
        # 2: cross-over to a neighbouring super-genre; 3: the super-genre tag itself
        crossover = np.empty(n_artists, dtype=np.int64)
        for s in range(n_super):
            rows = np.flatnonzero(super_genre == s)
            same_super[rows] = by_super[s][rng.integers(0, by_super[s].size, size=rows.size)]
            rows_c = np.flatnonzero(cross_super == s)
            crossover[rows_c] = by_super[s][rng.integers(0, by_super[s].size, size=rows_c.size)]
        pick = np.choose(kind, [sibling_pick, same_super, crossover, super_genre.astype(np.int64)])
        slots[:, j] = np.where(j < k, pick, -1)
    # Drop repeated genres within an artist, keeping the first occurrence.
    dup = np.zeros_like(slots, dtype=bool)
    for j in range(1, 4):
        dup[:, j] = (slots[:, j][:, None] == slots[:, :j]).any(axis=1)
    valid = (slots >= 0) & ~dup
    counts = valid.sum(axis=1)
    genre_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    genre_ids = slots[valid].astype(np.int32)

    affinity = np.asarray(vocab.SUPER_GENRE_CLUSTER_AFFINITY)
    cluster_probs = _dirichlet_rows(rng, 0.6 * affinity[super_genre] + 0.02)

    # Zipf-like popularity over a random order of artists.
    rank = rng.permutation(n_artists) + 1
    popularity = rank.astype(np.float64) ** -0.9 * rng.lognormal(0.0, 0.3, size=n_artists)
    popularity /= popularity.sum()

    # Tracks per artist: at least one, heavy-tailed, more for popular artists.
    weight = rng.lognormal(0.0, 0.8, size=n_artists) * popularity**0.25
    n_per = 1 + allocate(n_tracks - n_artists, weight)

    # Lyric language: about 8 % of artists sing in another language.
    languages = np.asarray(["en"] + [code for code, _ in vocab.LANGUAGE_WORDS], dtype=object)
    other = rng.random(n_artists) < 0.08
    lang_idx = np.where(other, rng.integers(1, languages.size, size=n_artists), 0)
    return Artists(
        super_genre=super_genre,
        genre_offsets=genre_offsets,
        genre_ids=genre_ids,
        cluster_probs=cluster_probs,
        popularity=popularity,
        language=languages[lang_idx],
        n_tracks=n_per,
    )


def _pick_child_or_self(rng: np.random.Generator, tree: GenreTree, sub: np.ndarray) -> np.ndarray:
    """For each sub-genre index in ``sub``: the sub-genre itself or one of its micro-genres."""
    n_children = 3  # every sub-genre in vocab.GENRE_TREE has three micro-genres
    offset = rng.integers(0, n_children + 1, size=sub.size)
    # Micro-genres follow their sub-genre directly in the flattened tree.
    return sub + offset


def allocate(total: int, weight: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weight`` (largest remainder).

    Deterministic: ties go to the lower index.

    Returns
    -------
    numpy.ndarray
        Shape like ``weight``, int64, non-negative, sums to ``total``.
    """
    share = weight / weight.sum() * total
    base = np.floor(share).astype(np.int64)
    rest = int(total - base.sum())
    if rest > 0:
        order = np.argsort(-(share - base), kind="stable")
        base[order[:rest]] += 1
    return base


@dataclass(frozen=True)
class Tracks:
    """Tracks of the world (index = world track id; tracks are grouped by artist).

    Attributes
    ----------
    artist
        Shape ``(n,)``: artist index.
    cluster
        Shape ``(n,)``: planted audio cluster.
    features
        Column name → shape ``(n,)`` array for the twelve audio features.
    is_instrumental
        Shape ``(n,)``.
    topics
        Shape ``(n, n_topics)``: topic mixture (rows sum to 1; NaN rows for instrumentals).
    popularity
        Shape ``(n,)``: artist popularity × within-artist Zipf weight, sums to 1.
    """

    artist: np.ndarray
    cluster: np.ndarray
    features: dict[str, np.ndarray]
    is_instrumental: np.ndarray
    topics: np.ndarray
    popularity: np.ndarray


def build_tracks(rng: np.random.Generator, artists: Artists) -> Tracks:
    """Draw each track's cluster, topic mixture, audio features and popularity."""
    n_artists = artists.n_tracks.size
    artist = np.repeat(np.arange(n_artists, dtype=np.int32), artists.n_tracks)
    n = artist.size
    cluster = _categorical_rows(rng, artists.cluster_probs[artist]).astype(np.int8)

    instr_p = np.asarray(vocab.CLUSTER_INSTRUMENTAL_P)[cluster]
    is_instrumental = rng.random(n) < instr_p

    # Topic mixture from a Dirichlet whose mean follows the artist's super-genre.
    aff = np.asarray(vocab.SUPER_GENRE_TOPIC_AFFINITY)
    aff = aff / aff.sum(axis=1, keepdims=True)
    topics = _dirichlet_rows(rng, 0.05 + 1.2 * aff[artists.super_genre[artist]])
    topics[is_instrumental] = np.nan

    means = {
        key: np.asarray([m[key] for _, m in vocab.AUDIO_CLUSTERS])[cluster]
        for key in vocab.AUDIO_CLUSTERS[0][1]
    }

    def unit(key: str, sd: float) -> np.ndarray:
        return np.clip(means[key] + rng.normal(0.0, sd, size=n), 0.0, 1.0)

    valence_shift = np.nan_to_num(topics) @ np.asarray(vocab.TOPIC_VALENCE_SHIFT)
    instrumentalness = np.where(
        is_instrumental,
        np.clip(rng.normal(0.85, 0.1, size=n), 0.5, 1.0),
        np.clip(rng.exponential(0.03, size=n) + 0.2 * means["instrumentalness"] ** 2, 0, 0.6),
    )
    speechiness = np.where(
        is_instrumental, rng.uniform(0.02, 0.06, size=n), unit("speechiness", 0.04)
    )
    key = rng.integers(0, 12, size=n)
    key = np.where(rng.random(n) < 0.005, -1, key)
    loudness = np.where(
        rng.random(n) < 0.01,
        rng.uniform(-60.0, -25.0, size=n),  # the odd near-silent recording
        np.clip(means["loudness"] + rng.normal(0.0, 2.5, size=n), -30.0, 0.0),
    )
    features = {
        "danceability": unit("danceability", 0.12),
        "energy": unit("energy", 0.12),
        "key": key.astype(np.int8),
        "loudness": np.round(loudness, 3),
        "mode": (rng.random(n) < means["mode"]).astype(np.int8),
        "speechiness": speechiness,
        "acousticness": unit("acousticness", 0.12),
        "instrumentalness": instrumentalness,
        "liveness": np.clip(means["liveness"] + rng.gamma(2.0, 0.04, size=n) - 0.08, 0.01, 1.0),
        "valence": np.clip(means["valence"] + valence_shift + rng.normal(0, 0.13, size=n), 0, 1),
        "tempo": np.round(np.clip(means["tempo"] + rng.normal(0.0, 18.0, size=n), 50, 220), 3),
        "duration_ms": np.clip(
            means["duration_s"] * 1000 * rng.lognormal(0.0, 0.25, size=n), 90_000, 600_000
        ).astype(np.int64),
    }
    for name in (
        "danceability",
        "energy",
        "speechiness",
        "acousticness",
        "instrumentalness",
        "liveness",
        "valence",
    ):
        features[name] = np.round(features[name], 4)

    # Within-artist Zipf: an artist's first tracks are its hits.
    starts = np.concatenate([[0], np.cumsum(artists.n_tracks)[:-1]])
    within_rank = np.arange(n) - np.repeat(starts, artists.n_tracks) + 1
    within = within_rank.astype(np.float64) ** -1.0
    within_norm = np.bincount(artist, weights=within, minlength=n_artists)
    popularity = artists.popularity[artist] * within / within_norm[artist]
    popularity /= popularity.sum()
    return Tracks(
        artist=artist,
        cluster=cluster,
        features=features,
        is_instrumental=is_instrumental,
        topics=topics,
        popularity=popularity,
    )
