"""LDA model selection: fit, score (c_v, NPMI, held-out perplexity), choose, describe.

A fitted model is saved with gensim's own ``save`` (numpy arrays beside a small pickle of the
model object). Loading it unpickles, so only load models this pipeline wrote; everything
downstream reads the plain Parquet outputs (topic-word matrix, document topics) instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from gensim.models import CoherenceModel, LdaModel, LdaMulticore

from moodrec.errors import ModelFitError
from moodrec.topics.config import TopicsConfig
from moodrec.topics.corpus import TopicCorpus, heldout_split

logger = logging.getLogger(__name__)


#: The language that runs the full sweep and keeps the unprefixed output names.
PRIMARY_LANGUAGE = "en"


def topic_key(language: str, topic: int) -> str:
    """The topic's id across languages, e.g. ``"es:3"``."""
    return f"{language}:{int(topic)}"


def topic_column(language: str, topic: int) -> str:
    """The ``track_topics`` column of a topic: ``topic_3`` for English, ``topic_es_3`` else."""
    if language == PRIMARY_LANGUAGE:
        return f"topic_{int(topic)}"
    return f"topic_{language}_{int(topic)}"


@dataclass(frozen=True)
class SweepPoint:
    """One model of the sweep: language, number of topics and Dirichlet priors."""

    k: int
    alpha: str
    eta: str
    language: str = PRIMARY_LANGUAGE

    @property
    def name(self) -> str:
        base = f"k{self.k}-alpha_{self.alpha}-eta_{self.eta}"
        return base if self.language == PRIMARY_LANGUAGE else f"{self.language}:{base}"


def sweep_plan(
    cfg: TopicsConfig, best_k: int | None = None, language: str = PRIMARY_LANGUAGE
) -> list[SweepPoint]:
    """The models of one sweep stage for one language.

    English: ``grid`` is the full product; ``staged`` without ``best_k`` is every k with
    the first alpha and eta, with ``best_k`` the remaining alpha × eta at that k. Any other
    language has a single stage (nothing with ``best_k``): ``cfg.other_k`` alone when set,
    else every ``cfg.other_k_values`` with the first alpha and eta.
    """
    a0, e0 = cfg.alphas[0], cfg.etas[0]
    if language != PRIMARY_LANGUAGE:
        if best_k is not None:
            return []
        ks = (cfg.other_k,) if cfg.other_k is not None else cfg.other_k_values
        return [SweepPoint(k, a0, e0, language) for k in ks]
    if cfg.sweep_strategy == "grid":
        if best_k is not None:
            return []
        return [SweepPoint(k, a, e) for k in cfg.k_values for a in cfg.alphas for e in cfg.etas]
    if best_k is None:
        return [SweepPoint(k, a0, e0) for k in cfg.k_values]
    return [SweepPoint(best_k, a, e) for a in cfg.alphas for e in cfg.etas if (a, e) != (a0, e0)]


def fit_lda(bow: list, corpus: TopicCorpus, point: SweepPoint, cfg: TopicsConfig) -> LdaModel:
    """Fit one LDA model on ``bow`` (a list of bag-of-words) with the config's seed.

    Raises
    ------
    ModelFitError
        The topic-word matrix has non-finite values.
    """
    common: dict[str, Any] = {
        "corpus": bow,
        "id2word": corpus.dictionary,
        "num_topics": point.k,
        "eta": point.eta,
        "passes": cfg.passes,
        "iterations": cfg.iterations,
        "chunksize": cfg.chunksize,
        "random_state": cfg.seed,
        "eval_every": None,
        "dtype": np.float64,
    }
    if cfg.workers:
        model = LdaMulticore(workers=cfg.workers, alpha=point.alpha, **common)
    else:
        model = LdaModel(alpha=point.alpha, update_every=1, **common)
    if not np.isfinite(model.get_topics()).all():
        raise ModelFitError(f"LDA {point.name}: topic-word matrix has non-finite values")
    return model


def score_lda(
    model: LdaModel, corpus: TopicCorpus, heldout: list, cfg: TopicsConfig
) -> dict[str, Any]:
    """Coherence (c_v, NPMI; mean and per topic) and held-out per-word log-likelihood bound."""
    out: dict[str, Any] = {}
    topics = [
        [w for w, _ in model.show_topic(t, topn=cfg.coherence_topn)]
        for t in range(model.num_topics)
    ]
    for measure in ("c_v", "c_npmi"):
        cm = CoherenceModel(
            topics=topics,
            texts=corpus.docs,
            dictionary=corpus.dictionary,
            coherence=measure,
            topn=cfg.coherence_topn,
            processes=1,
        )
        per_topic = np.nan_to_num(np.asarray(cm.get_coherence_per_topic(), dtype=float))
        out[measure] = float(per_topic.mean())
        out[f"{measure}_per_topic"] = [round(float(x), 6) for x in per_topic]
    bound = float(model.log_perplexity(heldout)) if heldout else float("nan")
    out["log_perplexity"] = bound  # per-word bound (nats), higher is better
    out["perplexity"] = float(np.exp(-bound)) if heldout else float("nan")
    top = {w for t in topics for w in t}
    out["topic_diversity"] = len(top) / (len(topics) * cfg.coherence_topn)
    return out


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def sweep_jobs(cfg: TopicsConfig) -> int:
    """Processes one sweep task fits with: ``cfg.sweep_jobs``, or the available cores shared
    by the ``cfg.n_sweep_tasks`` tasks that run at the same time."""
    if cfg.sweep_jobs:
        return cfg.sweep_jobs
    return max(1, available_cores() // cfg.n_sweep_tasks)


def plateau_length(metrics: list[float], patience: int, tolerance: float) -> int:
    """How many points of a k-ascending series are fitted before the metric plateaus.

    A point *improves* when it beats the best so far by more than ``tolerance`` relative
    (the margin :func:`select_model` uses: a point that does not improve is never chosen
    itself, the best earlier, smaller k is within its margin). After ``patience`` points in
    a row that do not improve, the series stops; ``patience`` 0 keeps every point.
    """
    for n in range(1, len(metrics) + 1):
        if plateaued(metrics[:n], patience, tolerance):
            return n
    return len(metrics)


def plateaued(metrics: list[float], patience: int, tolerance: float) -> bool:
    """Whether the last ``patience`` points of ``metrics`` all fail to improve (see
    :func:`plateau_length`)."""
    if patience <= 0 or len(metrics) <= patience:
        return False
    best = max(metrics[:-patience])
    return all(m <= best + abs(best) * tolerance for m in metrics[-patience:])


# the worker processes' corpus, set once per process by _init_worker (not pickled per fit)
_WORKER: dict[str, Any] = {}


def _init_worker(corpus: TopicCorpus, train: list, held: list) -> None:
    _WORKER.update(corpus=corpus, train=train, held=held)


def _fit_point(
    point: SweepPoint, cfg: TopicsConfig, data: tuple[TopicCorpus, list, list] | None = None
) -> dict[str, Any]:
    """Fit and score one point: one row of the sweep table.

    ``data`` is ``(corpus, train, held)``; a worker process passes ``None`` and reads the
    copy its initializer stored. Inline fits always pass it: several sweeps may run at once
    in one process (Prefect's thread task runner), so a process-wide slot would be shared.
    """
    corpus, train, held = (
        data
        if data is not None
        else (
            _WORKER["corpus"],
            _WORKER["train"],
            _WORKER["held"],
        )
    )
    t0 = time.perf_counter()
    model = fit_lda(train, corpus, point, cfg)
    scores = score_lda(model, corpus, held, cfg)
    return {
        "model": point.name,
        "language": point.language,
        "k": point.k,
        "alpha": point.alpha,
        "eta": point.eta,
        **scores,
        "fit_seconds": round(time.perf_counter() - t0, 3),
    }


class _InlinePool:
    """The executor interface, running each fit at submission (one job: no processes) on
    the data it was given (appended to each call's arguments)."""

    def __init__(self, data: tuple[TopicCorpus, list, list]) -> None:
        self._data = data

    def submit(self, fn: Any, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, self._data))
        except BaseException as exc:  # handed to the caller through result()
            future.set_exception(exc)
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        del cancel_futures


def _series(points: list[SweepPoint]) -> list[list[int]]:
    """Indices of ``points`` grouped by (language, alpha, eta), each in ascending k."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault((p.language, p.alpha, p.eta), []).append(i)
    return [sorted(ix, key=lambda i: points[i].k) for ix in groups.values()]


def run_sweep(
    corpus: TopicCorpus, points: list[SweepPoint], cfg: TopicsConfig, jobs: int = 1
) -> pd.DataFrame:
    """Fit and score each sweep point on the training split (held-out split for perplexity).

    Points with the same language and priors form a series in ascending k that stops once
    ``cfg.select_metric`` has plateaued (:func:`plateau_length` with ``cfg.sweep_patience``
    and ``cfg.select_tolerance``). Fits run in ``jobs`` processes; every fit is seeded and
    the plateau is decided in k order, so the table does not depend on ``jobs`` (fits
    started past a plateau are dropped).

    Returns
    -------
    pandas.DataFrame
        One row per fitted point, in the order of ``points``: ``model``, ``language``,
        ``k``, ``alpha``, ``eta``, ``c_v``, ``c_npmi``, ``log_perplexity``, ``perplexity``,
        ``topic_diversity``, per-topic coherences, ``fit_seconds``.
    """
    train, held = heldout_split(len(corpus.bow), cfg.heldout_fraction, cfg.seed)
    train_bow = [corpus.bow[i] for i in train]
    held_bow = [corpus.bow[i] for i in held if corpus.bow[i]]
    rows: dict[int, dict[str, Any]] = {}
    for i, row in _fit_points(corpus, train_bow, held_bow, points, cfg, jobs):
        rows[i] = row
        logger.info(
            "%s: c_v %.4f npmi %.4f log-perplexity %.3f",
            row["model"],
            row["c_v"],
            row["c_npmi"],
            row["log_perplexity"],
        )
    return pd.DataFrame([rows[i] for i in sorted(rows)])


def _fit_points(
    corpus: TopicCorpus,
    train: list,
    held: list,
    points: list[SweepPoint],
    cfg: TopicsConfig,
    jobs: int,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(index, row)`` of the points the plateau rule keeps, fitting up to ``jobs``
    at a time (series round-robin, each in ascending k)."""
    series = _series(points)
    todo = [list(s) for s in series]  # not yet submitted, per series
    done: list[dict[int, dict[str, Any]]] = [{} for _ in series]
    decided = [0] * len(series)  # points of the series already judged (in k order)
    stopped = [False] * len(series)
    metric = cfg.select_metric
    # a daemonic process (a Dask worker, say) may not start children: fit inline there
    if jobs > 1 and len(points) > 1 and not multiprocessing.current_process().daemon:
        ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
        pool: Any = ProcessPoolExecutor(
            min(jobs, len(points)), ctx, initializer=_init_worker, initargs=(corpus, train, held)
        )
    else:
        pool, jobs = _InlinePool((corpus, train, held)), 1
    running: dict[Future, tuple[int, int]] = {}
    try:
        while True:
            while len(running) < jobs:
                s = next((j for j in range(len(series)) if todo[j] and not stopped[j]), None)
                if s is None:
                    break
                i = todo[s].pop(0)
                running[pool.submit(_fit_point, points[i], cfg)] = (s, i)
            if not running:
                return
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                s, i = running.pop(fut)
                done[s][i] = fut.result()
                # judge the series' points in k order as far as they are fitted
                order = series[s]
                while not stopped[s] and decided[s] < len(order) and order[decided[s]] in done[s]:
                    decided[s] += 1
                    values = [float(done[s][j][metric]) for j in order[: decided[s]]]
                    keep = decided[s]
                    if keep < len(order) and plateaued(
                        values, cfg.sweep_patience, cfg.select_tolerance
                    ):
                        stopped[s] = True
                        logger.info(
                            "sweep %s: %s plateaued after k=%d; skipping k=%s",
                            points[order[0]].language,
                            metric,
                            points[order[keep - 1]].k,
                            [points[j].k for j in order[keep:]],
                        )
                    yield order[decided[s] - 1], done[s][order[decided[s] - 1]]
    finally:
        pool.shutdown(cancel_futures=True)


def select_model(sweep: pd.DataFrame, cfg: TopicsConfig) -> SweepPoint:
    """The chosen sweep point: best ``select_metric``, smallest k within the tolerance.

    ``sweep`` holds one language's rows (filter a multi-language sweep first). Ties break
    deterministically on (k, alpha, eta) order.
    """
    if sweep.empty:
        raise ModelFitError("topic sweep produced no models")
    sweep = sweep.reset_index(drop=True)
    metric = sweep[cfg.select_metric].astype(float)
    best = float(metric.max())
    # relative tolerance on the metric's scale (log-perplexity is negative)
    margin = abs(best) * cfg.select_tolerance
    near = sweep.loc[metric >= best - margin].sort_values(["k", "model"], kind="stable")
    k = int(near["k"].iloc[0])
    at_k = sweep.loc[sweep["k"] == k]
    row = at_k.loc[at_k[cfg.select_metric].astype(float).idxmax()]
    language = str(row["language"]) if "language" in row.index else PRIMARY_LANGUAGE
    return SweepPoint(int(row["k"]), str(row["alpha"]), str(row["eta"]), language)


def best_k(sweep: pd.DataFrame, cfg: TopicsConfig) -> int:
    """The k the first stage of a staged sweep settles on."""
    return select_model(sweep, cfg).k


# --- the chosen model's outputs --------------------------------------------------------------


def document_topics(model: LdaModel, bow: list) -> np.ndarray:
    """Shape ``(n_docs, k)``: each document's topic mixture; rows sum to 1.

    Empty documents get the model's prior mean (``alpha`` normalised).
    """
    k = model.num_topics
    gamma, _ = model.inference(bow) if bow else (np.zeros((0, k)), None)
    gamma = np.asarray(gamma, dtype=np.float64)
    prior = np.asarray(model.alpha, dtype=np.float64)
    empty = np.array([len(b) == 0 for b in bow], dtype=bool)
    if empty.any():
        gamma[empty] = prior
    return gamma / gamma.sum(axis=1, keepdims=True)


def topic_tables(
    model: LdaModel, theta: np.ndarray, cfg: TopicsConfig, language: str = PRIMARY_LANGUAGE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary per topic and the long topic-word table of one language's model.

    Returns
    -------
    topics : pandas.DataFrame
        ``topic_id`` (0..k-1 within the language), ``language``, ``topic_key``
        (``"es:3"``), ``label`` (top-3 words), ``top_words`` (list), ``size`` (expected
        number of documents, the sum of theta), ``share`` (within the language),
        ``n_dominant``.
    words : pandas.DataFrame
        ``topic_id``, ``language``, ``topic_key``, ``rank``, ``word``, ``probability`` for
        the top ``cfg.top_words``.
    """
    k = model.num_topics
    size = theta.sum(axis=0)
    dominant = np.bincount(theta.argmax(axis=1), minlength=k) if len(theta) else np.zeros(k)
    rows, words = [], []
    for t in range(k):
        top = model.show_topic(t, topn=cfg.top_words)
        names = [w for w, _ in top]
        rows.append(
            {
                "topic_id": t,
                "language": language,
                "topic_key": topic_key(language, t),
                "label": " · ".join(names[:3]),
                "top_words": names,
                "size": float(size[t]),
                "share": float(size[t] / max(size.sum(), 1e-12)),
                "n_dominant": int(dominant[t]),
            }
        )
        words.extend(
            {
                "topic_id": t,
                "language": language,
                "topic_key": topic_key(language, t),
                "rank": r,
                "word": w,
                "probability": float(p),
            }
            for r, (w, p) in enumerate(top)
        )
    return pd.DataFrame(rows), pd.DataFrame(words)


def topic_word_frame(model: LdaModel, language: str = PRIMARY_LANGUAGE) -> pd.DataFrame:
    """The full topic-word matrix as a long table.

    Columns ``topic_id``, ``word``, ``probability``, ``language``.
    """
    phi = model.get_topics()
    vocab = [model.id2word[i] for i in range(phi.shape[1])]
    k, v = phi.shape
    return pd.DataFrame(
        {
            "topic_id": np.repeat(np.arange(k, dtype=np.int32), v),
            "word": np.tile(np.asarray(vocab, dtype=object), k),
            "probability": phi.ravel(),
            "language": language,
        }
    )
