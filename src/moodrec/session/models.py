"""Session recommenders: baselines, session-kNN and the mood-aware personalised model.

* ``pop`` — global popularity in the training sessions;
* ``spop`` — popular in session: items already in the prefix first (by count), then ``pop``;
* ``sr`` — sequential rules (item-to-item co-occurrence, Ludewig & Jannach 2018): item ``b``
  after ``a`` within ``steps`` plays weighs ``1 / gap``; scores follow the last item;
* ``sknn`` — session-kNN: cosine similarity of item sets to the ``sample`` most recent
  training sessions sharing an item, ``k`` nearest neighbours vote;
* ``vsknn`` — V-SKNN: prefix items weighted by recency (linear decay), neighbour votes
  weighted by inverse item frequency;
* ``gru4rec`` — in :mod:`moodrec.session.sequence` (torch);
* ``mood`` — the mood-aware personalised mixture (see :class:`MoodAwareRecommender`).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from moodrec.errors import ModelError
from moodrec.models.base import Recommender
from moodrec.models.saved import csr_arrays, csr_from
from moodrec.session.base import SessionRecommender
from moodrec.session.data import SessionData
from moodrec.session.mood import (
    MoodStates,
    fit_mood_states,
    fit_play_sigma,
    session_trajectories,
    user_transitions,
)

logger = logging.getLogger(__name__)


class PopularityRecommender(SessionRecommender):
    """Global popularity (ignores the session)."""

    name = "pop"

    def _fit(self, train: SessionData) -> None:
        pass

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        return self.popularity.copy()


class SessionPopularityRecommender(SessionRecommender):
    """Items of the running session first (by count in it), then global popularity."""

    name = "spop"

    def _fit(self, train: SessionData) -> None:
        pass

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        s = self.popularity.copy()
        if prefix.size:
            s += np.bincount(prefix, minlength=self.n_items)
        return s


def _session_matrix(train: SessionData) -> sp.csr_matrix:
    """``(n_sessions, n_items)`` binary session × item matrix."""
    rows = np.repeat(np.arange(train.n_sessions), train.session_length)
    m = sp.csr_matrix(
        (np.ones(train.items.size, dtype=np.float32), (rows, train.items)),
        shape=(train.n_sessions, train.n_items),
    )
    m.data[:] = 1.0  # duplicates summed above; binary sets
    return m


class SequentialRulesRecommender(SessionRecommender):
    """Item-to-item sequential rules: ``b`` after ``a`` within ``steps`` plays, weight 1/gap."""

    name = "sr"

    def __init__(self, steps: int = 10, **params: Any) -> None:
        super().__init__(steps=steps, **params)
        self.rules = sp.csr_matrix((0, 0))

    def _fit(self, train: SessionData) -> None:
        steps = int(self.params["steps"])
        seg = np.repeat(np.arange(train.n_sessions), train.session_length)
        a_all, b_all, w_all = [], [], []
        for gap in range(1, steps + 1):
            ok = np.flatnonzero(seg[gap:] == seg[:-gap])
            a_all.append(train.items[ok])
            b_all.append(train.items[ok + gap])
            w_all.append(np.full(ok.size, 1.0 / gap, dtype=np.float32))
        a, b, w = (np.concatenate(x) for x in (a_all, b_all, w_all))
        self.rules = sp.csr_matrix((w, (a, b)), shape=(self.n_items, self.n_items))
        self.rules.sum_duplicates()

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        s = np.zeros(self.n_items)
        if prefix.size:
            row = self.rules[int(prefix[-1])]
            s[row.indices] = row.data
        return s

    def _state(self) -> dict[str, np.ndarray]:
        return csr_arrays("rules", self.rules)

    def _restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        self.rules = csr_from("rules", arrays)


class SessionKNNRecommender(SessionRecommender):
    """Session-kNN (SKNN): the ``k`` most similar recent sessions vote for their items."""

    name = "sknn"

    def __init__(self, k: int = 100, sample: int = 500, **params: Any) -> None:
        super().__init__(k=k, sample=sample, **params)
        self.sessions = sp.csr_matrix((0, 0))
        self.item_sessions = sp.csr_matrix((0, 0))
        self.recency = np.zeros(0)
        self.idf = np.zeros(0)

    def _fit(self, train: SessionData) -> None:
        self.sessions = _session_matrix(train)
        self.item_sessions = self.sessions.T.tocsr()
        # recency rank of each session: larger = more recent
        self.recency = np.argsort(np.argsort(train.session_start, kind="stable")).astype(np.int64)
        df = np.diff(self.item_sessions.indptr).astype(np.float64)
        self.idf = np.log((train.n_sessions + 1) / (df + 1))

    def _query(self, prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Prefix item weights (unique items, weights)."""
        items = np.unique(prefix)
        return items, np.ones(items.size)

    def _vote_weights(self) -> np.ndarray | None:
        return None

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        s = np.zeros(self.n_items)
        if prefix.size == 0:
            return s
        items, weights = self._query(prefix)
        ist = self.item_sessions
        parts = [ist.indices[ist.indptr[i] : ist.indptr[i + 1]] for i in items]
        cand = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        if cand.size == 0:
            return s
        sample = int(self.params["sample"])
        if cand.size > sample:
            rec = self.recency[cand]
            cand = cand[np.argpartition(-rec, sample - 1)[:sample]]
        sub = self.sessions[cand]
        q = np.zeros(self.n_items)
        q[items] = weights
        overlap = sub @ q
        lengths = np.diff(sub.indptr).astype(np.float64)
        sims = self._similarity(overlap, lengths, items.size)
        k = min(int(self.params["k"]), cand.size)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[sims[top] > 0]
        if top.size == 0:
            return s
        votes = sub[top].T @ sims[top]
        s[:] = np.asarray(votes).ravel()
        vw = self._vote_weights()
        if vw is not None:
            s *= vw
        return s

    def _similarity(self, overlap: np.ndarray, lengths: np.ndarray, n_query: int) -> np.ndarray:
        return overlap / np.sqrt(np.maximum(lengths * n_query, 1.0))

    def _state(self) -> dict[str, np.ndarray]:
        return {**csr_arrays("sessions", self.sessions), "recency": self.recency, "idf": self.idf}

    def _restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        self.sessions = csr_from("sessions", arrays)
        self.item_sessions = self.sessions.T.tocsr()
        self.recency = arrays["recency"]
        self.idf = arrays["idf"]


class VSKNNRecommender(SessionKNNRecommender):
    """V-SKNN: recent prefix items weigh more (linear decay); votes weighted by IDF."""

    name = "vsknn"

    def _query(self, prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = prefix.size
        w = np.arange(1, n + 1, dtype=np.float64) / n  # last play 1, first 1/n
        items, inv = np.unique(prefix, return_inverse=True)
        weights = np.zeros(items.size)
        np.maximum.at(weights, inv, w)
        return items, weights

    def _similarity(self, overlap: np.ndarray, lengths: np.ndarray, n_query: int) -> np.ndarray:
        return overlap / max(n_query, 1)

    def _vote_weights(self) -> np.ndarray | None:
        return self.idf


def _normalise(p: np.ndarray) -> np.ndarray:
    total = p.sum()
    return p / total if total > 0 else p


class MoodAwareRecommender(SessionRecommender):
    """Mood-aware personalised next-track model: a mixture of five item distributions.

    ``P(next = t) = Σ_m P(m | prefix, user) [w_um P(t | user, m) + w_c P(t | m)]
    + w_u P(t | user) + w_a P(t | artist of the last play) + w_s SKNN(t | prefix)``

    * ``P(m | prefix, user)``: the mood-state posterior — the user's transition habit from
      their last known session state (prior) times the Gaussian likelihood of the prefix
      plays' (valence, energy); ``target_mood`` replaces it with a point mass;
    * ``P(t | user, m)``: the user's plays in training sessions of state ``m`` (smoothed by
      add-``0.1``/n items);
    * ``P(t | m)``: content — (plays + 1) × a Gaussian kernel of the track's (valence,
      energy) around state ``m``'s centre, so cold tracks with features are reachable;
    * ``P(t | user)``: the long-term model — the user's play profile, or a registered
      :class:`moodrec.models.base.Recommender` (``long_term_model``) fitted on user × item
      play counts, its scores turned into a distribution by a softmax;
    * ``P(t | artist)``: tracks by the artist of the last play, by popularity (album
      listening);
    * ``SKNN``: session-kNN scores on the prefix, normalised.

    Without item mood features (real logs) there is one state and no content kernel: the
    model is a personalised blend of long-term taste, artist continuation and SKNN.
    """

    name = "mood"
    #: (valence, energy) of tracks without audio features are NaN
    may_hold_nan = frozenset({"ve"})
    personalised = True
    #: the contract world has two planted moods
    contract_params: ClassVar[dict[str, Any]] = {"n_states": 2}

    def __init__(
        self,
        n_states: int = 4,
        method: str = "kmeans",
        w_user_mood: float = 0.45,
        w_user: float = 0.05,
        w_content: float = 0.10,
        w_artist: float = 0.15,
        w_session: float = 0.25,
        mood_rerank: float = 0.5,
        k: int = 100,
        sample: int = 500,
        long_term_model: str = "profile",
        seed: int = 0,
        **params: Any,
    ) -> None:
        super().__init__(
            n_states=n_states,
            method=method,
            w_user_mood=w_user_mood,
            w_user=w_user,
            w_content=w_content,
            w_artist=w_artist,
            w_session=w_session,
            mood_rerank=mood_rerank,
            k=k,
            sample=sample,
            long_term_model=long_term_model,
            seed=seed,
            **params,
        )
        self.knn = SessionKNNRecommender(k=k, sample=sample)
        self.states: MoodStates | None = None
        self.ve = np.zeros((0, 2))
        self.user_state_items = sp.csr_matrix((0, 0))
        self.user_items = sp.csr_matrix((0, 0))
        self.transitions = np.zeros((0, 1, 1))
        self.user_last_state = np.zeros(0, dtype=np.int64)
        self.item_artist = np.zeros(0, dtype=np.int64)
        self.long_term = np.zeros((0, 0), dtype=np.float32)
        self._artist_items: sp.csr_matrix | None = None
        self._content: np.ndarray | None = None
        self._kernel: np.ndarray | None = None
        self._user_state_share = sp.csr_matrix((0, 0))

    @property
    def n_states(self) -> int:
        return self.states.k if self.states is not None else 1

    @property
    def has_mood(self) -> bool:
        return self.states is not None

    def _fit(self, train: SessionData) -> None:
        p = self.params
        self.knn.fit(train)
        self.item_artist = train.item_artist.copy()
        seg = np.repeat(np.arange(train.n_sessions), train.session_length)
        session_state = np.zeros(train.n_sessions, dtype=np.int64)
        if train.mood is not None and train.mood.known.any():
            traj = session_trajectories(train)
            states = fit_mood_states(traj, int(p["n_states"]), str(p["method"]), int(p["seed"]))
            session_state = states.assign(traj[["valence_mean", "energy_mean"]].to_numpy())
            self.states = fit_play_sigma(states, train, session_state)
            self.ve = train.mood.ve.copy()
        k = self.n_states
        self.transitions = user_transitions(session_state, train.session_user, self.n_users, k)
        last = np.full(self.n_users, -1, dtype=np.int64)
        last[train.session_user] = session_state  # sessions sorted by time: last one wins
        self.user_last_state = last
        ev_user = train.session_user[seg]
        ev_state = np.maximum(session_state[seg], 0)
        ones = np.ones(train.items.size, dtype=np.float32)
        self.user_state_items = sp.csr_matrix(
            (ones, (ev_user * k + ev_state, train.items)), shape=(self.n_users * k, self.n_items)
        )
        self.user_state_items.sum_duplicates()
        self.user_items = sp.csr_matrix(
            (ones, (ev_user, train.items)), shape=(self.n_users, self.n_items)
        )
        self.user_items.sum_duplicates()
        self.long_term = self._fit_long_term()
        self._prepare()

    def _fit_long_term(self) -> np.ndarray:
        """Scores of a registered long-term recommender, or an empty array for "profile"."""
        name = str(self.params["long_term_model"])
        if name == "profile":
            return np.zeros((0, 0), dtype=np.float32)
        klass = Recommender.registry.get(name)
        if klass is None:
            # recommenders register on import; their modules are named like them
            with contextlib.suppress(ImportError):
                importlib.import_module(f"moodrec.models.{name}")
            klass = Recommender.registry.get(name)
        if klass is None:
            known = ", ".join(sorted(Recommender.registry)) or "none registered"
            raise ModelError(f"mood: unknown long_term_model {name!r} (known: {known})")
        model = klass(seed=int(self.params["seed"])) if "seed" in _init_names(klass) else klass()
        model.fit(self.user_items.log1p())
        scores = np.asarray(model.score(np.arange(self.n_users)), dtype=np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        scale = scores.std(axis=1, keepdims=True)
        prob = np.exp(scores / np.where(scale > 0, scale, 1.0))
        return (prob / prob.sum(axis=1, keepdims=True)).astype(np.float32)

    def _prepare(self) -> None:
        """Derived lookups (not saved): row shares, artist → items, content kernel per state."""
        tot = np.asarray(self.user_state_items.sum(axis=1)).ravel()
        inv = np.divide(1.0, tot, out=np.zeros_like(tot, dtype=np.float64), where=tot > 0)
        self._user_state_share = sp.csr_matrix(sp.diags(inv) @ self.user_state_items)
        artist = np.maximum(self.item_artist, 0)
        pop1 = self.popularity * 1e4 + 1.0
        self._artist_items = sp.csr_matrix(
            (pop1 * (self.item_artist >= 0), (artist, np.arange(self.n_items))),
            shape=(int(artist.max()) + 1 if artist.size else 1, self.n_items),
        )
        if self.states is not None:
            known = ~np.isnan(self.ve).any(axis=1)
            d2 = ((self.ve[None] - self.states.centres[:, None, :]) ** 2).sum(axis=2)
            kern = np.exp(-np.nan_to_num(d2, nan=np.inf) / (2 * self.states.sigma**2))
            fill = kern[:, known].mean(axis=1, keepdims=True) if known.any() else 1.0
            self._kernel = np.where(known[None], kern, fill)
            c = pop1[None] * kern * known[None]
            self._content = c / np.maximum(c.sum(axis=1, keepdims=True), 1e-300)
        else:
            self._content = _normalise(pop1)[None]

    def mood_posterior(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        """``(n_states,)`` P(state of this session | prefix, user's habit)."""
        k = self.n_states
        if target_mood is not None:
            if not 0 <= target_mood < k:
                raise ModelError(f"mood: target_mood {target_mood} outside 0..{k - 1}")
            return np.eye(k)[target_mood]
        if self.states is None:
            return np.ones(1)
        prior = None
        if user is not None and 0 <= user < self.n_users:
            last = self.user_last_state[user]
            prior = self.transitions[user, last] if last >= 0 else self.transitions[user].mean(0)
        return self.states.posterior(self.ve[prefix] if prefix.size else np.zeros((0, 2)), prior)

    def score_next(
        self, prefix: np.ndarray, user: int | None = None, target_mood: int | None = None
    ) -> np.ndarray:
        p = self.params
        post = self.mood_posterior(prefix, user, target_mood)
        k = self.n_states
        content = self._content if self._content is not None else np.zeros((1, self.n_items))
        s = float(p["w_content"]) * (post @ content[:k] if content.shape[0] == k else content[0])
        if user is not None and 0 <= user < self.n_users:
            block = self._user_state_share[user * k : (user + 1) * k]
            s += float(p["w_user_mood"]) * np.asarray(block.T @ post).ravel()
            if self.long_term.size:
                s += float(p["w_user"]) * self.long_term[user]
            else:
                row = self.user_items[user]
                s[row.indices] += float(p["w_user"]) * row.data / max(row.data.sum(), 1.0)
        if prefix.size:
            a = self.item_artist[int(prefix[-1])]
            if a >= 0 and self._artist_items is not None:
                row = self._artist_items[int(a)]
                s[row.indices] += float(p["w_artist"]) * row.data / row.data.sum()
            s += float(p["w_session"]) * _normalise(self.knn.score_next(prefix))
        beta = float(p["mood_rerank"])
        if beta > 0 and self.states is not None:
            s = s * self._mood_fit(post) ** beta
        return s

    def _mood_fit(self, post: np.ndarray) -> np.ndarray:
        """``(n_items,)`` how well each track fits the session's mood: the posterior mixture
        of Gaussian kernels around the states' centres (tracks without features: the mean)."""
        if self._kernel is None:
            return np.ones(self.n_items)
        return post @ self._kernel

    def _state(self) -> dict[str, np.ndarray]:
        arrays = {
            **{f"knn_{k}": v for k, v in self.knn._state().items()},
            **csr_arrays("user_state_items", self.user_state_items),
            **csr_arrays("user_items", self.user_items),
            "transitions": self.transitions,
            "user_last_state": self.user_last_state,
            "item_artist": self.item_artist,
            "long_term": self.long_term,
            "ve": self.ve,
        }
        if self.states is not None:
            arrays["centres"] = self.states.centres
        return arrays

    def _extra(self) -> dict[str, Any]:
        if self.states is None:
            return {}
        return {"labels": list(self.states.labels), "sigma": self.states.sigma}

    def _restore(self, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> None:
        self.knn = SessionKNNRecommender(k=self.params["k"], sample=self.params["sample"])
        self.knn._restore({k[4:]: v for k, v in arrays.items() if k.startswith("knn_")}, {})
        self.knn.n_items, self.knn.n_users = self.n_items, self.n_users
        self.knn.popularity = self.popularity
        self.knn._fitted = True
        self.user_state_items = csr_from("user_state_items", arrays)
        self.user_items = csr_from("user_items", arrays)
        self.transitions = arrays["transitions"]
        self.user_last_state = arrays["user_last_state"]
        self.item_artist = arrays["item_artist"]
        self.long_term = arrays["long_term"]
        self.ve = arrays["ve"]
        if "centres" in arrays:
            self.states = MoodStates(
                arrays["centres"], tuple(extra["labels"]), float(extra["sigma"])
            )
        self._prepare()


def _init_names(klass: type) -> set[str]:
    import inspect

    return set(inspect.signature(klass.__init__).parameters)
