"""Mood signals: per play, per session (trajectory and mood state), per user (over time).

Mood lives in the valence × energy plane of the tracks played. Mood *states* are learned by
clustering the sessions' mean (valence, energy) and labelled by their centres' position:

* with ``k = 4``: the centre of highest energy is **energetic**; of the other three, the one
  of lowest valence is **sad** (sad/tense); of the last two, the higher-energy one is
  **happy** and the lower-energy one **calm**;
* with another ``k``: ``state_0 .. state_{k-1}`` ordered by valence + energy.

A session's state given a prefix of plays is a posterior: the user's habit of moving from
the previous session's state (a smoothed transition matrix) times an isotropic Gaussian
likelihood of each play's (valence, energy) around each state's centre.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moodrec.errors import MoodrecError
from moodrec.session.data import SessionData
from moodrec.storage import atomic_path, write_text_atomic

logger = logging.getLogger(__name__)

MOOD_LABELS_4 = ("calm", "happy", "energetic", "sad")


class MoodError(MoodrecError):
    """Mood states cannot be learned (no features, too few sessions) or a label is unknown."""


@dataclass(frozen=True)
class MoodStates:
    """Learned mood states in valence × energy.

    Attributes
    ----------
    centres
        ``(k, 2)`` valence, energy of each state.
    labels
        ``k`` names (see the module docstring for the rule).
    sigma
        Per-play spread around a centre (pooled standard deviation, one axis).
    """

    centres: np.ndarray
    labels: tuple[str, ...]
    sigma: float

    @property
    def k(self) -> int:
        return int(self.centres.shape[0])

    def index(self, label: str) -> int:
        """State index of a label (``calm``/``happy``/``energetic``/``sad``/...)."""
        if label not in self.labels:
            raise MoodError(f"unknown mood {label!r}; known: {', '.join(self.labels)}")
        return self.labels.index(label)

    def assign(self, ve: np.ndarray) -> np.ndarray:
        """Nearest state of each ``(n, 2)`` point (NaN rows → -1)."""
        ve = np.atleast_2d(ve)
        d2 = ((ve[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        out = np.argmin(np.nan_to_num(d2, nan=np.inf), axis=1)
        return np.where(np.isnan(ve).any(axis=1), -1, out)

    def log_likelihood(self, ve: np.ndarray) -> np.ndarray:
        """``(k,)`` summed log-likelihood of the known rows of ``ve`` (``(n, 2)``) per state."""
        ve = np.atleast_2d(ve)
        ve = ve[~np.isnan(ve).any(axis=1)]
        if ve.size == 0:
            return np.zeros(self.k)
        d2 = ((ve[:, None, :] - self.centres[None]) ** 2).sum(axis=2)
        return -(d2.sum(axis=0)) / (2 * self.sigma**2)

    def posterior(self, ve: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        """``(k,)`` P(state | plays ``ve``) with ``prior`` (uniform if None)."""
        logp = self.log_likelihood(ve)
        if prior is not None:
            logp = logp + np.log(np.maximum(prior, 1e-12))
        p = np.exp(logp - logp.max())
        return p / p.sum()


def label_states(centres: np.ndarray) -> tuple[str, ...]:
    """Names of the states by the position of their ``(k, 2)`` (valence, energy) centres."""
    k = centres.shape[0]
    if k != 4:
        order = np.argsort(centres.sum(axis=1), kind="stable")
        names = [""] * k
        for rank, i in enumerate(order):
            names[i] = f"state_{rank}"
        return tuple(names)
    names = [""] * 4
    rest = list(range(4))
    energetic = max(rest, key=lambda i: centres[i, 1])
    rest.remove(energetic)
    sad = min(rest, key=lambda i: centres[i, 0])
    rest.remove(sad)
    happy, calm = sorted(rest, key=lambda i: -centres[i, 1])
    names[energetic], names[sad], names[happy], names[calm] = "energetic", "sad", "happy", "calm"
    return tuple(names)


def event_mood(data: SessionData) -> np.ndarray:
    """``(n_events, 2)`` valence, energy of every play (NaN where unknown)."""
    if data.mood is None:
        return np.full((data.items.size, 2), np.nan)
    return data.mood.ve[data.items]


def session_trajectories(data: SessionData, states: MoodStates | None = None) -> pd.DataFrame:
    """One row per session: its mood trajectory and (if ``states``) its mood state.

    Returns
    -------
    pd.DataFrame
        ``session`` (index into ``data``), ``session_id``, ``user_id``, ``start`` (UTC),
        ``n_events``, ``n_known``, ``{valence,energy}_{start,end,mean,trend}`` (trend =
        least-squares slope per play), and ``state``/``mood`` when ``states`` is given.
    """
    ve = event_mood(data)
    n_s = data.n_sessions
    seg = np.repeat(np.arange(n_s), data.session_length)
    pos = np.arange(data.items.size) - data.offsets[seg]
    known = ~np.isnan(ve).any(axis=1)
    cnt = np.bincount(seg, weights=known, minlength=n_s)
    out = {
        "session": np.arange(n_s),
        "session_id": data.session_id,
        "user_id": data.session_user,
        "start": pd.to_datetime(data.session_start, unit="s", utc=True),
        "n_events": data.session_length,
        "n_known": cnt.astype(np.int64),
    }
    last = np.full(n_s, -1)
    kidx = np.flatnonzero(known)
    # first/last known play of each session
    np.maximum.at(last, seg[kidx], kidx)
    first_rev = np.full(n_s, np.iinfo(np.int64).max)
    np.minimum.at(first_rev, seg[kidx], kidx)
    first = np.where(cnt > 0, first_rev, -1)
    for j, axis in enumerate(("valence", "energy")):
        v = np.where(known, ve[:, j], 0.0)
        s1 = np.bincount(seg, weights=v, minlength=n_s)
        mean = np.divide(s1, cnt, out=np.full(n_s, np.nan), where=cnt > 0)
        x = np.where(known, pos, 0.0)
        sx = np.bincount(seg, weights=x, minlength=n_s)
        sxx = np.bincount(seg, weights=x * x, minlength=n_s)
        sxy = np.bincount(seg, weights=x * v, minlength=n_s)
        den = cnt * sxx - sx**2
        slope = np.divide(cnt * sxy - sx * s1, den, out=np.zeros(n_s), where=den > 0)
        out[f"{axis}_start"] = np.where(first >= 0, ve[np.maximum(first, 0), j], np.nan)
        out[f"{axis}_end"] = np.where(last >= 0, ve[np.maximum(last, 0), j], np.nan)
        out[f"{axis}_mean"] = mean
        out[f"{axis}_trend"] = np.where(cnt > 0, slope, np.nan)
    df = pd.DataFrame(out)
    if states is not None:
        st = states.assign(df[["valence_mean", "energy_mean"]].to_numpy())
        df["state"] = st
        df["mood"] = np.where(st >= 0, np.asarray(states.labels, dtype=object)[st], None)
    return df


def fit_mood_states(
    trajectories: pd.DataFrame,
    k: int = 4,
    method: str = "kmeans",
    seed: int = 0,
    min_known: int = 2,
) -> MoodStates:
    """Cluster sessions' mean (valence, energy) into ``k`` labelled mood states.

    Parameters
    ----------
    trajectories
        :func:`session_trajectories` output (``valence_mean``, ``energy_mean``, ``n_known``).
    k
        Number of states.
    method
        ``kmeans`` (NumPy, :func:`kmeans`) or ``gmm`` (scikit-learn).
    seed
        Random state of the clustering.
    min_known
        Only sessions with at least this many plays with features take part.

    Raises
    ------
    MoodError
        If fewer than ``k`` sessions have features.
    """
    rows = trajectories[trajectories["n_known"] >= min_known]
    x = rows[["valence_mean", "energy_mean"]].to_numpy(dtype=float)
    if x.shape[0] < max(k, 2):
        raise MoodError(f"mood states: {x.shape[0]} sessions with features, need at least {k}")
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        gm = GaussianMixture(k, covariance_type="full", random_state=seed, n_init=2).fit(x)
        centres = gm.means_
    elif method == "kmeans":
        centres = kmeans(x, k, seed)
    else:
        raise MoodError(f"mood states: unknown method {method!r} (kmeans, gmm)")
    centres = np.asarray(centres, dtype=float)
    return MoodStates(centres=centres, labels=label_states(centres), sigma=0.2)


def kmeans(x: np.ndarray, k: int, seed: int = 0, n_init: int = 4, iters: int = 100) -> np.ndarray:
    """``(k, d)`` centres of Lloyd's k-means with k-means++ starts; the best of ``n_init``.

    A few points in two dimensions: plain NumPy is faster here than a threaded library.
    """
    rng = np.random.default_rng(seed)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = x[[int(rng.integers(x.shape[0]))]]
        while centres.shape[0] < k:
            d2 = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).min(axis=1)
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(x.shape[0], 1.0 / x.shape[0])
            centres = np.vstack([centres, x[rng.choice(x.shape[0], p=p)]])
        for _ in range(iters):
            label = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
            new = np.array(
                [x[label == j].mean(axis=0) if (label == j).any() else centres[j] for j in range(k)]
            )
            if np.allclose(new, centres):
                break
            centres = new
        inertia = ((x - centres[label]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = centres, inertia
    return np.asarray(best)


def fit_play_sigma(states: MoodStates, data: SessionData, session_state: np.ndarray) -> MoodStates:
    """Re-estimate ``sigma``: pooled spread of plays around their session's state centre."""
    ve = event_mood(data)
    st = np.repeat(session_state, data.session_length)
    ok = (st >= 0) & ~np.isnan(ve).any(axis=1)
    if not ok.any():
        return states
    d2 = ((ve[ok] - states.centres[st[ok]]) ** 2).sum(axis=1)
    sigma = float(np.sqrt(d2.mean() / 2.0))
    return MoodStates(states.centres, states.labels, max(sigma, 0.02))


def user_transitions(
    session_state: np.ndarray, session_user: np.ndarray, n_users: int, k: int, alpha: float = 1.0
) -> np.ndarray:
    """``(n_users, k, k)`` each user's P(next session's state | this session's state).

    Counts consecutive session pairs of the same user (sessions sorted by user, then time;
    state ``-1`` = unknown is skipped), smoothed towards the user's own state frequencies
    and then the global ones with ``alpha`` pseudo-counts each.
    """
    trans = np.zeros((n_users, k, k))
    same = session_user[1:] == session_user[:-1]
    a, b = session_state[:-1], session_state[1:]
    ok = same & (a >= 0) & (b >= 0)
    np.add.at(trans, (session_user[1:][ok], a[ok], b[ok]), 1.0)
    known = session_state >= 0
    freq_user = np.zeros((n_users, k))
    np.add.at(freq_user, (session_user[known], session_state[known]), 1.0)
    glob = freq_user.sum(axis=0) + 1.0
    glob /= glob.sum()
    user = (freq_user + alpha * glob) / (freq_user.sum(axis=1, keepdims=True) + alpha)
    trans += alpha * user[:, None, :]
    return trans / trans.sum(axis=2, keepdims=True)


def user_mood_series(data: SessionData, user: int) -> pd.DataFrame:
    """Every play of one user with its valence/energy: ``ts`` (UTC), ``valence``, ``energy``,
    ``session``, ``hour``, ``weekday`` (0 = Monday)."""
    sel = np.flatnonzero(data.session_user == user)
    if sel.size == 0:
        raise MoodError(f"user {user}: no sessions")
    sub = data.subset(sel)
    ve = event_mood(sub)
    ts = pd.to_datetime(sub.ts, unit="s", utc=True)
    return pd.DataFrame(
        {
            "ts": ts,
            "valence": ve[:, 0],
            "energy": ve[:, 1],
            "session": np.repeat(sel, sub.session_length),
            "hour": ts.hour,
            "weekday": ts.day_of_week,
        }
    )


def mood_rhythm(series: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Daily and weekly rhythm: mean valence/energy and plays per hour of day and weekday."""
    out = {}
    for key in ("hour", "weekday"):
        g = series.groupby(key)
        out[key] = pd.DataFrame(
            {
                "valence": g["valence"].mean(),
                "energy": g["energy"].mean(),
                "plays": g.size(),
            }
        ).reset_index()
    return out


def plot_mood_timeline(
    series: pd.DataFrame, title: str, html_path: Path | None, png_path: Path | None
) -> dict[str, Path]:
    """The user's mood over time (per play, daily mean) and its daily/weekly rhythm.

    Writes an interactive HTML (plotly, JS from CDN) and/or a PNG (matplotlib), atomically.
    """
    written: dict[str, Path] = {}
    daily = series.set_index("ts")[["valence", "energy"]].resample("D").mean().dropna(how="all")
    rhythm = mood_rhythm(series)
    if html_path is not None:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=2,
            cols=2,
            specs=[[{"colspan": 2}, None], [{}, {}]],
            subplot_titles=("mood over time (daily mean)", "hour of day", "weekday"),
        )
        for axis, colour in (("valence", "#1f77b4"), ("energy", "#d62728")):
            fig.add_trace(
                go.Scatter(
                    x=daily.index,
                    y=daily[axis],
                    mode="lines+markers",
                    name=axis,
                    line={"color": colour},
                ),
                row=1,
                col=1,
            )
            for col, key in ((1, "hour"), (2, "weekday")):
                r = rhythm[key]
                fig.add_trace(
                    go.Bar(x=r[key], y=r[axis], name=f"{axis} by {key}", marker_color=colour),
                    row=2,
                    col=col,
                )
        fig.update_layout(title=title, height=700, barmode="group")
        write_text_atomic(html_path, fig.to_html(include_plotlyjs="cdn", full_html=True))
        written["html"] = Path(html_path)
    if png_path is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig2, axes = plt.subplots(2, 2, figsize=(11, 7))
        top = plt.subplot2grid((2, 2), (0, 0), colspan=2, fig=fig2)
        axes[0, 0].remove()
        axes[0, 1].remove()
        for axis, colour in (("valence", "tab:blue"), ("energy", "tab:red")):
            top.plot(daily.index, daily[axis], ".-", color=colour, label=axis, lw=0.8, ms=3)
        top.set_ylim(0, 1)
        top.set_title("mood over time (daily mean)")
        top.legend()
        for ax, key in ((axes[1, 0], "hour"), (axes[1, 1], "weekday")):
            r = rhythm[key]
            w = 0.4
            ax.bar(r[key] - w / 2, r["valence"], w, color="tab:blue", label="valence")
            ax.bar(r[key] + w / 2, r["energy"], w, color="tab:red", label="energy")
            ax.set_title(f"by {key}" + (" (UTC)" if key == "hour" else ""))
            ax.set_ylim(0, 1)
            if key == "weekday":
                ax.set_xticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        fig2.suptitle(title)
        fig2.tight_layout()
        with atomic_path(png_path) as tmp:
            fig2.savefig(tmp, format="png", dpi=90)
        plt.close(fig2)
        written["png"] = Path(png_path)
    return written
