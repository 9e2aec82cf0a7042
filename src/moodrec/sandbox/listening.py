"""Listeners, their sessions and the events they play, drawn vectorised from planted taste.

The model (recorded in the truth files):

* each user ``u`` has a super-genre taste ``taste_super[u]`` (sums to 1), an audio-cluster
  preference ``taste_cluster[u]`` (mean 1), a lyric-topic preference ``topic_pref[u]``
  (sums to 1), a mood baseline in valence × energy and a mood chain
  ``T_u = p_u I + (1 - p_u) 1 π_uᵀ`` between the four mood states (persistence ``p_u``,
  stationary distribution ``π_u`` centred on the baseline);
* a session's mood follows ``T_u`` from the user's previous session;
* a *fresh* play in mood ``m`` draws track ``t`` with ``P(t | u, m) ∝
  taste_super[u, g] · taste_cluster[u, c] · P(c | g, m) · pop(t) fit_m(t) / W_m(g, c)``,
  where ``g, c`` are the track's super-genre and cluster, ``fit_m`` is a Gaussian kernel
  of the track's (valence, energy) around the mood centre and ``W_m(g, c)`` normalises the
  cell; so genre shares follow taste and mood shifts the sound within a genre;
* a *favourite* play (probability ``repeat_p[u]``) picks from the user's per-mood pool of
  favourites (drawn from ``P(t | u, m)`` and reweighted by lyric-topic affinity
  ``exp(6 θ_t · topic_pref[u])``) with a steep rank law;
* a *continue* play (probability ``continue_p[u]``, never first in a session) plays another
  track by the artist of the session's last fresh or favourite play (album listening).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from moodrec.errors import MoodrecError
from moodrec.sandbox import vocab
from moodrec.sandbox.music import Tracks, allocate

#: The listening log covers the real file's period.
LOG_START = int(datetime(2005, 2, 14, tzinfo=UTC).timestamp())
LOG_END = int(datetime(2009, 6, 19, 23, 59, 59, tzinfo=UTC).timestamp())
#: Users registered no earlier than this.
REGISTER_START = int(datetime(2002, 10, 1, tzinfo=UTC).timestamp())
#: Shortest gap between two sessions, seconds (a 30-minute gap rule recovers sessions).
MIN_SESSION_GAP_S = 40 * 60
#: Width of the mood-fit kernel in valence × energy.
MOOD_FIT_SIGMA = 0.2
#: Strength of lyric-topic affinity when users pick favourites.
TOPIC_AFFINITY_BETA = 6.0
_ONE_MINUS = 1.0 - 1e-9  # keeps `row + u` below the next row in cumulative tables


def mood_centres() -> np.ndarray:
    """Shape ``(n_moods, 2)``: (valence, energy) centre of each mood state."""
    return np.asarray([(v, e) for _, v, e in vocab.MOOD_STATES])


@dataclass(frozen=True)
class Users:
    """Latent traits of each user (index = user number - 1)."""

    n_events: np.ndarray
    taste_super: np.ndarray
    taste_cluster: np.ndarray
    topic_pref: np.ndarray
    mood_baseline: np.ndarray
    mood_stationary: np.ndarray
    mood_persistence: np.ndarray
    repeat_p: np.ndarray
    continue_p: np.ndarray
    session_mean_len: np.ndarray
    pool_size: np.ndarray
    span_share: np.ndarray

    def mood_transition(self) -> np.ndarray:
        """Shape ``(n_users, n_moods, n_moods)``: ``p I + (1 - p) 1 πᵀ`` per user."""
        n_moods = self.mood_stationary.shape[1]
        p = self.mood_persistence[:, None, None]
        return p * np.eye(n_moods)[None] + (1 - p) * self.mood_stationary[:, None, :]


def build_users(rng: np.random.Generator, n_users: int, n_events: int) -> Users:
    """Draw user traits; events per user are heavy-tailed and sum to ``n_events`` exactly.

    Raises
    ------
    MoodrecError
        If ``n_events`` is below one event per user.
    """
    if n_events < n_users:
        raise MoodrecError(f"sandbox: {n_events} events cannot cover {n_users} users")
    n_super = len(vocab.SUPER_GENRES)
    n_clusters = len(vocab.AUDIO_CLUSTERS)
    n_topics = len(vocab.TOPICS)

    activity = rng.lognormal(0.0, 1.1, size=n_users)
    minimum = max(1, n_events // (n_users * 50))
    # Cap at ~9.5× the mean, like the real file's heaviest listener (~183k of 19.15M plays).
    cap = max(minimum, n_events * 9.5 / n_users)
    counts = _allocate_capped(n_events, activity, minimum, cap=cap)

    share = np.asarray(vocab.SUPER_GENRE_SHARE)
    taste_super = rng.dirichlet(0.35 * n_super * share / share.sum(), size=n_users)
    taste_super = (taste_super + 1e-4) / (taste_super + 1e-4).sum(axis=1, keepdims=True)
    taste_cluster = rng.dirichlet(np.full(n_clusters, 3.0), size=n_users) * n_clusters
    topic_pref = rng.dirichlet(np.full(n_topics, 0.5), size=n_users)
    topic_pref = (topic_pref + 1e-6) / (topic_pref + 1e-6).sum(axis=1, keepdims=True)

    baseline = np.clip(rng.normal([0.5, 0.5], [0.15, 0.15], size=(n_users, 2)), 0.05, 0.95)
    d2 = ((baseline[:, None, :] - mood_centres()[None]) ** 2).sum(axis=2)
    stationary = np.exp(-d2 / 0.08) + 0.05
    stationary /= stationary.sum(axis=1, keepdims=True)
    persistence = rng.beta(4.0, 3.0, size=n_users)

    mean_len = np.clip(rng.lognormal(np.log(12.0), 0.5, size=n_users), 3.0, 60.0)
    # Heavy listeners need longer sessions to fit their plays into the log's period.
    room = 0.8 * (LOG_END - LOG_START) - counts * 330.0
    needed = counts * MIN_SESSION_GAP_S / np.maximum(room, 1.0)
    mean_len = np.maximum(mean_len, needed * 1.3)
    pool = np.clip(np.round(2.0 * np.sqrt(counts)), 5, 600).astype(np.int64)
    return Users(
        n_events=counts,
        taste_super=taste_super,
        taste_cluster=taste_cluster,
        topic_pref=topic_pref,
        mood_baseline=baseline,
        mood_stationary=stationary,
        mood_persistence=persistence,
        repeat_p=rng.beta(3.0, 3.0, size=n_users),
        continue_p=rng.beta(2.0, 6.0, size=n_users),
        session_mean_len=mean_len,
        pool_size=pool,
        span_share=rng.beta(2.0, 1.2, size=n_users),
    )


def _allocate_capped(total: int, weight: np.ndarray, minimum: int, cap: float) -> np.ndarray:
    """``allocate`` with every part in ``[minimum, cap]`` (cap is soft if it cannot hold)."""
    n = weight.size
    counts = np.full(n, minimum, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    rest = total - minimum * n
    for _ in range(n):
        part = allocate(rest, weight * free)
        over = free & (counts + part > cap)
        if not over.any() or over.sum() == free.sum():
            return counts + part
        counts[over] = int(cap)
        rest -= int((counts[over] - minimum).sum())
        free &= ~over
    return counts + allocate(rest, weight * free)


@dataclass(frozen=True)
class TrackSampler:
    """Cumulative tables for drawing tracks given (user, mood) in O(log n) per draw."""

    order: np.ndarray  # track ids sorted by cell
    track_cum: np.ndarray  # (n_moods, n_tracks): cell + within-cell cumulative share
    cell_cum: np.ndarray  # (n_users * n_moods * n_cells,): row + within-row cumulative share
    n_cells: int


def build_sampler(users: Users, tracks: Tracks, track_super: np.ndarray) -> TrackSampler:
    """Precompute ``P(cell | u, m)`` and ``P(t | cell, m)`` as cumulative tables."""
    n_clusters = len(vocab.AUDIO_CLUSTERS)
    n_super = len(vocab.SUPER_GENRES)
    n_cells = n_super * n_clusters
    cell = track_super.astype(np.int64) * n_clusters + tracks.cluster
    order = np.argsort(cell, kind="stable")
    cell_sorted = cell[order]
    ve = np.stack([tracks.features["valence"], tracks.features["energy"]], axis=1)
    centres = mood_centres()
    n_moods = centres.shape[0]
    n_tracks = cell.size

    cell_w = np.zeros((n_moods, n_cells))
    track_cum = np.empty((n_moods, n_tracks))
    last_in_cell = np.flatnonzero(np.diff(np.append(cell_sorted, -1)) != 0)
    for m in range(n_moods):
        d2 = ((ve - centres[m]) ** 2).sum(axis=1)
        w = tracks.popularity * np.exp(-d2 / (2 * MOOD_FIT_SIGMA**2))
        cell_w[m] = np.bincount(cell, weights=w, minlength=n_cells)
        cs = np.cumsum(w[order])
        before = np.concatenate([[0.0], np.cumsum(cell_w[m])])[cell_sorted]
        frac = (cs - before) / cell_w[m][cell_sorted]
        frac[last_in_cell] = 1.0
        track_cum[m] = cell_sorted + np.clip(frac, 0.0, 1.0)

    # P(cell | u, m) = taste_super[u, g] * P(c | g, m) * taste_cluster[u, c], renormalised.
    per_super = cell_w.reshape(n_moods, n_super, n_clusters)
    super_tot = per_super.sum(axis=2, keepdims=True)
    p_c_given_g = np.divide(per_super, super_tot, out=np.zeros_like(per_super), where=super_tot > 0)
    has_tracks = (super_tot[..., 0] > 0)[None]  # (1, n_moods, n_super)
    taste = users.taste_super[:, None, :] * has_tracks
    p = taste[..., None] * p_c_given_g[None] * users.taste_cluster[:, None, None, :]
    p = p.reshape(-1, n_cells)
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(p.shape[0])[:, None]
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0
    return TrackSampler(
        order=order,
        track_cum=track_cum,
        cell_cum=(rows + np.clip(cum, 0.0, 1.0)).ravel(),
        n_cells=n_cells,
    )


def sample_tracks(
    rng: np.random.Generator, sampler: TrackSampler, user: np.ndarray, mood: np.ndarray
) -> np.ndarray:
    """Draw one fresh track per (user, mood) pair; returns track ids, shape like ``user``."""
    n_moods = sampler.track_cum.shape[0]
    row = user.astype(np.int64) * n_moods + mood
    pos = np.searchsorted(sampler.cell_cum, row + rng.random(row.size) * _ONE_MINUS, side="right")
    cell = pos - row * sampler.n_cells
    out = np.empty(row.size, dtype=np.int64)
    u = rng.random(row.size) * _ONE_MINUS
    for m in range(n_moods):
        sel = np.flatnonzero(mood == m)
        idx = np.searchsorted(sampler.track_cum[m], cell[sel] + u[sel], side="right")
        out[sel] = sampler.order[np.minimum(idx, sampler.order.size - 1)]
    return out


@dataclass(frozen=True)
class Favourites:
    """Per (user, mood) pools of favourite tracks, best first (CSR layout by row)."""

    offsets: np.ndarray  # (n_users * n_moods + 1,)
    tracks: np.ndarray


def build_favourites(
    rng: np.random.Generator, sampler: TrackSampler, users: Users, tracks: Tracks
) -> Favourites:
    """Draw 3 × pool-size candidates per (user, mood) and keep the top by topic affinity."""
    n_moods = sampler.track_cum.shape[0]
    n_users = users.pool_size.size
    size = np.repeat(users.pool_size, n_moods)  # per row u * n_moods + m
    n_cand = 3 * size
    row = np.repeat(np.arange(n_users * n_moods), n_cand)
    cand = sample_tracks(rng, sampler, row // n_moods, row % n_moods)
    n_topics = tracks.topics.shape[1]
    theta = np.where(np.isnan(tracks.topics[cand]), 1.0 / n_topics, tracks.topics[cand])
    affinity = (theta * users.topic_pref[row // n_moods]).sum(axis=1)
    key = TOPIC_AFFINITY_BETA * affinity + rng.gumbel(size=cand.size)
    order = np.lexsort((-key, row))
    row_sorted = row[order]
    start = np.concatenate([[0], np.cumsum(n_cand)[:-1]])
    rank = np.arange(order.size) - start[row_sorted]
    keep = rank < size[row_sorted]
    return Favourites(
        offsets=np.concatenate([[0], np.cumsum(size)]).astype(np.int64),
        tracks=cand[order[keep]],
    )


@dataclass(frozen=True)
class Listening:
    """Events (chronological within each user, users ascending) and their sessions."""

    user: np.ndarray  # (n_events,) int32
    track: np.ndarray  # (n_events,) int64
    ts: np.ndarray  # (n_events,) int64, Unix seconds
    session: np.ndarray  # (n_events,) global session number
    kind: np.ndarray  # (n_events,) 0 fresh, 1 favourite, 2 continue
    session_user: np.ndarray
    session_index: np.ndarray  # 0-based within user
    session_mood: np.ndarray
    session_start: np.ndarray
    session_end: np.ndarray  # timestamp of the session's last event
    session_n_events: np.ndarray
    user_first_ts: np.ndarray


def simulate_listening(
    rng: np.random.Generator,
    users: Users,
    tracks: Tracks,
    track_super: np.ndarray,
    artist_track_start: np.ndarray,
    artist_n_tracks: np.ndarray,
) -> Listening:
    """Simulate every user's sessions and plays.

    Parameters
    ----------
    rng
        Stream for the listening draws.
    users, tracks
        The latent users and the catalogue.
    track_super
        Shape ``(n_tracks,)``: super-genre of each track's artist.
    artist_track_start, artist_n_tracks
        Shape ``(n_artists,)``: first track id and number of tracks of each artist.

    Raises
    ------
    MoodrecError
        If a user's plays cannot fit into the log period (a sizing bug).
    """
    n_users = users.n_events.size
    n_moods = users.mood_stationary.shape[1]
    n = int(users.n_events.sum())
    user = np.repeat(np.arange(n_users, dtype=np.int32), users.n_events)
    user_start_pos = np.concatenate([[0], np.cumsum(users.n_events)[:-1]])
    first_of_user = np.zeros(n, dtype=bool)
    first_of_user[user_start_pos] = True

    # Sessions and their moods (a persistent Markov chain per user).
    starts = first_of_user | (rng.random(n) < 1.0 / users.session_mean_len[user])
    session = np.cumsum(starts) - 1
    start_pos = np.flatnonzero(starts)
    s_user = user[start_pos]
    n_sessions = start_pos.size
    s_first = first_of_user[start_pos]
    redraw = s_first | (rng.random(n_sessions) >= users.mood_persistence[s_user])
    cum_pi = np.cumsum(users.mood_stationary[s_user], axis=1)
    drawn = (cum_pi < rng.random(n_sessions)[:, None]).sum(axis=1)
    drawn = np.minimum(drawn, n_moods - 1)
    last_draw = np.maximum.accumulate(np.where(redraw, np.arange(n_sessions), 0))
    s_mood = drawn[last_draw].astype(np.int8)
    mood = s_mood[session]

    # Plays: fresh, favourite or continue.
    sampler = build_sampler(users, tracks, track_super)
    fav = build_favourites(rng, sampler, users, tracks)
    cont = ~starts & (rng.random(n) < users.continue_p[user])
    favourite = ~cont & (rng.random(n) < users.repeat_p[user])
    fresh = ~cont & ~favourite
    track = np.empty(n, dtype=np.int64)
    idx = np.flatnonzero(fresh)
    track[idx] = sample_tracks(rng, sampler, user[idx], mood[idx])
    idx = np.flatnonzero(favourite)
    row = user[idx].astype(np.int64) * n_moods + mood[idx]
    size = fav.offsets[row + 1] - fav.offsets[row]
    rank = np.floor(size * rng.random(idx.size) ** 3).astype(np.int64)
    track[idx] = fav.tracks[fav.offsets[row] + rank]
    anchor = np.maximum.accumulate(np.where(cont, 0, np.arange(n)))
    idx = np.flatnonzero(cont)
    artist = tracks.artist[track[anchor[idx]]]
    pick = np.floor(artist_n_tracks[artist] * rng.random(idx.size)).astype(np.int64)
    track[idx] = artist_track_start[artist] + pick
    kind = np.where(cont, 2, np.where(favourite, 1, 0)).astype(np.int8)

    # Time: inside a session the next play starts when this one ends (or was skipped);
    # between sessions the gap is hours to days, scaled so each user fits a span.
    dur_s = tracks.features["duration_ms"][track] / 1000.0
    skipped = rng.random(n) < 0.08
    within = np.where(skipped, rng.uniform(0.05, 0.9, size=n) * dur_s, dur_s)
    within = np.clip(np.round(within + rng.normal(0.0, 3.0, size=n)), 5, 29 * 60).astype(np.int64)
    next_starts = np.append(starts[1:], True)  # gap after event i leads into a new session
    last_of_user = np.append(user_start_pos[1:] - 1, n - 1)
    is_within = ~next_starts
    excess = np.where(next_starts, rng.lognormal(np.log(8 * 3600.0), 1.2, size=n), 0.0)
    excess[last_of_user] = 0.0
    is_between = next_starts.copy()
    is_between[last_of_user] = False
    within_tot = np.bincount(user, weights=within * is_within, minlength=n_users)
    n_between = np.bincount(user, weights=is_between, minlength=n_users)
    excess_tot = np.bincount(user, weights=excess, minlength=n_users)
    period = LOG_END - LOG_START
    span = users.span_share * period
    room = span - within_tot - n_between * MIN_SESSION_GAP_S
    scale = np.divide(
        np.maximum(room, 0.0), excess_tot, out=np.zeros(n_users), where=excess_tot > 0
    )
    gap = np.where(is_within, within, 0).astype(np.float64)
    gap[is_between] = MIN_SESSION_GAP_S + excess[is_between] * scale[user[is_between]]
    gap = np.round(gap).astype(np.int64)
    gap[last_of_user] = 0
    total = np.bincount(user, weights=gap, minlength=n_users).astype(np.int64)
    if (total > period).any():
        worst = int(np.argmax(total - period))
        raise MoodrecError(f"sandbox: user {worst + 1}'s {users.n_events[worst]} plays overflow")
    first_ts = LOG_START + np.floor(rng.random(n_users) * (period - total)).astype(np.int64)
    offset = np.cumsum(gap) - gap  # time since the user's first play, before subtracting
    offset -= np.repeat(offset[user_start_pos], users.n_events)
    ts = first_ts[user] + offset

    end_pos = np.append(start_pos[1:] - 1, n - 1)
    s_index = (
        np.arange(n_sessions)
        - np.concatenate([[0], np.cumsum(np.bincount(s_user, minlength=n_users))[:-1]])[s_user]
    )
    return Listening(
        user=user,
        track=track,
        ts=ts,
        session=session,
        kind=kind,
        session_user=s_user,
        session_index=s_index,
        session_mood=s_mood,
        session_start=ts[start_pos],
        session_end=ts[end_pos],
        session_n_events=end_pos - start_pos + 1,
        user_first_ts=first_ts,
    )
