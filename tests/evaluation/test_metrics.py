"""Ranking metrics: hand-computed cases, an independent per-user reference, model evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import InputDataError
from moodrec.evaluation.metrics import (
    coverage,
    evaluate_recommender,
    item_self_information,
    novelty,
    rmse,
)
from moodrec.interactions.ranking import hit_matrix, ranking_metrics
from moodrec.models.base import ItemFeatures, Recommender


def test_hand_computed_case() -> None:
    # ranked list a b c d e; relevant {b, d, z}: hits at ranks 2 and 4, |T| = 3, K = 5
    hits = np.array([[0, 1, 0, 1, 0]], dtype=bool)
    m = ranking_metrics(hits, np.array([3]), 5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg"][0] == pytest.approx(dcg / idcg)
    assert m["recall"][0] == pytest.approx(2 / 3)
    assert m["precision"][0] == pytest.approx(2 / 5)
    assert m["hr"][0] == 1.0
    assert m["mrr"][0] == pytest.approx(1 / 2)
    assert m["map"][0] == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_ideal_dcg_is_over_min_k_and_test_size() -> None:
    hits = np.array([[1, 1, 0], [0, 0, 0]], dtype=bool)
    m = ranking_metrics(hits, np.array([10, 4]), 2)
    np.testing.assert_allclose(m["ndcg"], [1.0, 0.0])
    np.testing.assert_allclose(m["map"], [1.0, 0.0])
    np.testing.assert_allclose(m["mrr"], [1.0, 0.0])
    with pytest.raises(InputDataError):
        ranking_metrics(hits, np.array([1, 0]), 2)


def reference(ranked: list[int], relevant: set[int], k: int) -> dict[str, float]:
    """A deliberately plain per-user implementation of the issue's definitions."""
    top = ranked[:k]
    hits = [1 if i in relevant else 0 for i in top]
    dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
    idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    ap, found, rr = 0.0, 0, 0.0
    for r, h in enumerate(hits, start=1):
        if h:
            found += 1
            ap += found / r
            rr = rr or 1 / r
    return {
        "ndcg": dcg / idcg,
        "recall": sum(hits) / len(relevant),
        "precision": sum(hits) / k,
        "hr": float(sum(hits) > 0),
        "mrr": rr,
        "map": ap / min(k, len(relevant)),
    }


class FixedScores(Recommender):
    """Scores given up front (test helper, not registered)."""

    def __init__(self, scores: np.ndarray) -> None:
        super().__init__()
        self.table = scores

    def _fit(self, train, validation, item_features: ItemFeatures | None) -> None:
        pass

    def score(self, users, items=None):
        s = self.table[np.asarray(users)]
        return s if items is None else s[:, items]

    def _state(self):
        return {"table": self.table}

    def _restore(self, arrays):
        self.table = arrays["table"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluate_matches_the_reference_with_ties_and_exclusions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = 25, 40
    # coarse scores: many ties, broken by the lower item index
    scores = rng.integers(0, 4, (n_users, n_items)).astype(np.float32)
    interactions = rng.random((n_users, n_items)) < 0.3
    is_test = interactions & (rng.random((n_users, n_items)) < 0.4)
    train = sp.csr_matrix((interactions & ~is_test).astype(np.float32))
    test = sp.csr_matrix(is_test.astype(np.float32))
    model = FixedScores(scores).fit(train)
    result = evaluate_recommender(model, train, test, ks=(5, 10), batch_size=7)
    per_user = result.per_user.set_index("user")
    for u in range(n_users):
        relevant = set(np.flatnonzero(is_test[u]).tolist())
        if not relevant:
            assert u not in per_user.index
            continue
        seen = set(np.flatnonzero(train[u].toarray()[0]).tolist())
        ranked = sorted(
            (i for i in range(n_items) if i not in seen), key=lambda i: (-scores[u, i], i)
        )
        for k in (5, 10):
            for name, value in reference(ranked, relevant, k).items():
                assert per_user.loc[u, f"{name}@{k}"] == pytest.approx(value), (u, name, k)


def test_evaluate_agrees_with_ranx() -> None:
    """An independent implementation (ranx, numba) on the same full-catalogue ranking.

    ranx's MAP@k divides by |T|; ours (the issue's definition) by min(k, |T|), so its values
    are rescaled before comparing. Distinct continuous scores: ranx breaks ties its own way.
    """
    ranx = pytest.importorskip("ranx")
    rng = np.random.default_rng(7)
    n_users, n_items, ks = 30, 60, (5, 10, 20)
    scores = rng.random((n_users, n_items))
    interactions = rng.random((n_users, n_items)) < 0.35
    is_test = interactions & (rng.random((n_users, n_items)) < 0.4)
    train = sp.csr_matrix((interactions & ~is_test).astype(np.float32))
    test = sp.csr_matrix(is_test.astype(np.float32))
    ours = evaluate_recommender(FixedScores(scores).fit(train), train, test, ks=ks)
    per_user = ours.per_user.set_index("user")
    assert (per_user["n_test"] > min(ks)).any()  # |T| > k for some: MAP denominators differ
    users = per_user.index.to_numpy()
    qrels = ranx.Qrels({f"u{u}": {f"i{i}": 1 for i in np.flatnonzero(is_test[u])} for u in users})
    seen = train.toarray() > 0
    run = ranx.Run(
        {
            f"u{u}": {f"i{i}": float(scores[u, i]) for i in range(n_items) if not seen[u, i]}
            for u in users
        }
    )
    names = {"ndcg": "ndcg", "recall": "recall", "precision": "precision"}
    names |= {"hr": "hit_rate", "mrr": "mrr", "map": "map"}
    metrics = [f"{theirs}@{k}" for theirs in names.values() for k in ks]
    theirs = ranx.evaluate(qrels, run, metrics, return_mean=False)
    order = [int(q[1:]) for q in qrels.get_query_ids()]
    n_rel = per_user.loc[order, "n_test"].to_numpy(dtype=np.float64)
    for ours_name, ranx_name in names.items():
        for k in ks:
            expected = np.asarray(theirs[f"{ranx_name}@{k}"], dtype=np.float64)
            if ours_name == "map":
                expected = expected * n_rel / np.minimum(n_rel, k)
            got = per_user.loc[order, f"{ours_name}@{k}"].to_numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-9, err_msg=f"{ours_name}@{k}")


def test_hit_matrix_ignores_padding() -> None:
    test = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0]], dtype=np.float32))
    rec = np.array([[1, -1, 2], [2, 0, -1]])
    np.testing.assert_array_equal(
        hit_matrix(rec, test, np.array([0, 1])), [[True, False, True], [False, True, False]]
    )


def test_coverage_novelty_rmse() -> None:
    train = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32))
    info = item_self_information(train)
    np.testing.assert_allclose(info, [0.0, 1.0, 1.0, 1.0])  # unseen items: as if one user
    rec = np.array([[0, 1], [1, -1]])
    np.testing.assert_allclose(novelty(rec, info), [0.5, 1.0])
    assert coverage(rec, 4) == 0.5
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 1.0])) == pytest.approx(math.sqrt(2.5))
    with pytest.raises(InputDataError):
        rmse(np.array([1.0]), np.array([1.0, 2.0]))


def test_evaluation_reports_its_user_batches_when_named() -> None:
    from moodrec import progress

    rng = np.random.default_rng(3)
    n_users, n_items = 23, 30
    interactions = rng.random((n_users, n_items)) < 0.4
    train = sp.csr_matrix((interactions & (rng.random(interactions.shape) < 0.5)).astype(float))
    test = sp.csr_matrix((interactions & (train.toarray() == 0)).astype(float))
    model = FixedScores(rng.random((n_users, n_items))).fit(train)
    events: list[progress.ProgressEvent] = []
    with progress.listening(events.append):
        evaluate_recommender(model, train, test, ks=(5,), batch_size=7)  # unnamed: silent
        assert events == []
        result = evaluate_recommender(
            model, train, test, ks=(5,), batch_size=7, progress_name="evaluate fixed: users"
        )
    n = len(result.per_user)
    assert {e.name for e in events} == {"evaluate fixed: users"}
    assert [e.done for e in events] == [min(i + 7, n) for i in range(0, n, 7)]
    assert {e.total for e in events} == {n}
