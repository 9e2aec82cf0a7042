"""Ablation: matrix, cold/warm split, ranking metrics, statistics, table and plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from moodrec.errors import InputDataError, ModelError
from moodrec.evaluation import ablation
from moodrec.models.deep_config import AblationConfig, DeepModelsConfig
from tests.models.planted import planted


def test_build_matrix_weights_and_filters() -> None:
    plays = pd.DataFrame(
        {"user_id": [5, 5, 7, 7, 9], "track_id": [1, 2, 1, 3, 1], "plays": [3, 1, 1, 0, 2]}
    )
    m, users, items = ablation.build_matrix(plays, "log", min_item_users=2)
    assert users.tolist() == [5, 7, 9] and items.tolist() == [1]
    np.testing.assert_allclose(m.toarray()[:, 0], np.log1p([3, 1, 2]), rtol=1e-6)
    b, _, items = ablation.build_matrix(plays, "binary")
    assert items.tolist() == [1, 2] and b.sum() == 4  # the 0-play row is dropped
    plain, _, p_items = ablation.build_matrix(plays, "log")
    orders = set()
    for seed in range(6):
        shuffled, _, s_items = ablation.build_matrix(plays, "log", shuffle_seed=seed)
        orders.add(tuple(s_items.tolist()))
        for j, track in enumerate(s_items):  # each column still holds its track's plays
            col = p_items.tolist().index(track)
            np.testing.assert_allclose(shuffled[:, j].toarray(), plain[:, col].toarray())
    assert orders == {(1, 2), (2, 1)}
    with pytest.raises(InputDataError, match="no interactions"):
        ablation.build_matrix(plays, "log", min_item_users=5)
    with pytest.raises(InputDataError, match="plays"):
        ablation.build_matrix(plays.drop(columns="plays"))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    density=st.floats(0.05, 0.6),
    cold=st.floats(0.05, 0.5),
)
def test_split_partitions_the_matrix(seed: int, density: float, cold: float) -> None:
    rng = np.random.default_rng(seed)
    m = sp.csr_matrix((rng.random((15, 25)) < density) * rng.integers(1, 5, (15, 25)))
    cfg = AblationConfig(seed=seed, cold_item_fraction=cold)
    s = ablation.split_cold_warm(m, cfg)
    parts = [s.train, s.validation, s.warm_test, s.cold_test, s.cold_validation]
    total = sum(p.toarray() for p in parts)
    np.testing.assert_array_equal(total, m.toarray())
    support = sum((p.toarray() != 0).astype(int) for p in parts)
    assert support.max() <= 1  # disjoint
    assert s.train[:, s.cold_items].nnz == 0 and s.warm_test[:, s.cold_items].nnz == 0
    warm = np.setdiff1d(np.arange(25), s.cold_items)
    assert s.cold_test[:, warm].nnz == 0
    assert not set(s.cold_items) & set(s.cold_validation_items)
    assert s.train[:, s.cold_validation_items].nnz == 0
    again = ablation.split_cold_warm(m, cfg)
    assert (again.train != s.train).nnz == 0 and (again.cold_test != s.cold_test).nnz == 0


def test_rank_metrics_by_hand() -> None:
    scores = np.array([[0.9, 0.8, 0.8, 0.1, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]])
    truth = sp.csr_matrix(np.array([[0, 0, 1, 1, 0], [0, 0, 0, 0, 1]]))
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]))
    res = ablation.rank_metrics(scores, truth, seen, np.arange(5), k=2)
    # user 0: item 0 seen; ranking 1, 2 (tie → lower id first), 4, 3 → hit at rank 2
    idcg = 1 + 1 / np.log2(3)
    assert res.loc[0, "ndcg"] == pytest.approx((1 / np.log2(3)) / idcg)
    assert res.loc[0, "recall"] == pytest.approx(0.5)
    assert res.loc[0, "mrr"] == pytest.approx(0.5)
    # user 1: all tied → items 0, 1 in the top 2, item 4 missed
    assert res.loc[1, "ndcg"] == 0.0
    # candidates restrict the ranking: among {3, 4} user 1's item 4 is ranked 2nd
    res = ablation.rank_metrics(scores, truth, seen, np.array([3, 4]), k=1)
    assert res["row"].tolist() == [0, 1]
    assert res.loc[0, "ndcg"] == 0.0 and res.loc[1, "ndcg"] == 0.0
    res = ablation.rank_metrics(scores, truth, seen, np.array([3, 4]), k=2)
    assert res.loc[1, "ndcg"] == pytest.approx(1 / np.log2(3))


def _per_user() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for variant, shift in (("cf", 0.0), ("all", 0.2)):
        for slice_name in ("warm", "cold"):
            for u in range(30):
                v = float(np.clip(rng.normal(0.3 + shift, 0.05), 0, 1))
                rows.append((variant, slice_name, u, v, v / 2))
    return pd.DataFrame(rows, columns=["variant", "slice", "user", "ndcg", "recall"])


def test_summarise_compares_with_the_reference() -> None:
    table = ablation.summarise(_per_user(), "cf", 200, 0, {"cf": 1.0, "all": 2.0})
    assert len(table) == 2 * 2 * 2
    row = table[(table.variant == "all") & (table.slice == "cold") & (table.metric == "ndcg")]
    assert row["diff_vs_ref"].iloc[0] == pytest.approx(0.2, abs=0.05)
    assert row["p_value"].iloc[0] < 1e-3
    assert row["diff_ci_low"].iloc[0] > 0 and row["p_bootstrap"].iloc[0] < 0.05
    ref = table[table.variant == "cf"]
    assert ref["p_value"].isna().all()


def test_run_ablation_on_planted_tastes() -> None:
    data = planted(seed=2)
    deep = DeepModelsConfig(
        lightfm={"batch_size": 64, "epochs": 15},
        ablation={
            "variants": {
                "none": (),
                "audio": ("audio",),
                "topics": ("topics",),
                "all": ("audio", "topics"),
            },
            "content_models": ("lightfm",),
            "reference_models": ("ials", "popularity"),
            "spaces": {"ials": {"reg": [0.1, 1.0]}, "lightfm": {}},
            "tuning_budget_s": 30,
            "n_bootstrap": 100,
        },
    )
    full = (data.train + data.test).tocsr()
    table, per_user = ablation.run_ablation(full, data.features, deep)
    nd = table[table.metric == "ndcg"].set_index(["variant", "slice"])["mean"]
    assert set(per_user["slice"]) == set(ablation.SLICES)
    assert set(per_user["variant"]) == {
        "ials",
        "popularity",
        "cb2cf:none",
        "cb2cf:audio",
        "cb2cf:topics",
        "cb2cf:all",
        "lightfm",
    }
    # the content → factor mapping keeps iALS on warm items exactly
    assert nd[("cb2cf:audio", "warm")] == pytest.approx(nd[("ials", "warm")])
    # informative content lifts cold items above the CF reference and above popularity, when
    # ranked against the whole catalogue; noise content does not
    assert nd[("cb2cf:audio", "cold")] > nd[("ials", "cold")] + 0.1
    assert nd[("cb2cf:audio", "cold")] > nd[("popularity", "cold")] + 0.1
    assert nd[("cb2cf:topics", "cold")] < nd[("cb2cf:audio", "cold")]
    # the cold-only view is the easier one: ranking among cold items alone
    assert nd[("ials", "cold_only")] >= nd[("ials", "cold")]
    assert table.attrs["params"]["ials"]["reg"] in (0.1, 1.0)
    answer = ablation.rq1_answer(table, deep.ablation)
    assert answer["best"] in {"cb2cf:audio", "cb2cf:all", "lightfm"}
    assert answer["warm_verdict"] in {"within", "above", "below"}
    assert "audio" in answer["families_helping"]
    # each family also chooses its own scale of the mapped factors, so even noise can differ
    # from the content-free variant; the informative family's gain is the far larger one
    cold = table[(table.metric == "ndcg") & (table.slice == "cold")].set_index("variant")
    assert cold.loc["cb2cf:audio", "diff_vs_base"] > cold.loc["cb2cf:topics", "diff_vs_base"] + 0.1
    assert np.isnan(cold.loc["cb2cf:none", "diff_vs_base"])
    assert answer["sentence"].startswith("Content helps")
    from moodrec.report.ablation import ablation_markdown

    md = ablation_markdown(table, 10, ablation.SLICES, ["note"], answer)
    assert "## RQ1" in md and answer["sentence"] in md and "cold_only" in md


def test_variant_without_its_content_is_skipped() -> None:
    data = planted(seed=3)
    deep = DeepModelsConfig(ablation={"variants": {"genre": ("genre",)}, "n_bootstrap": 20})
    split = ablation.split_cold_warm((data.train + data.test).tocsr(), deep.ablation)
    assert ablation.evaluate_variant("cb2cf:genre", split, data.features, deep, {}) is None


def test_unknown_variant_and_model_are_model_errors() -> None:
    data = planted(seed=3)
    deep = DeepModelsConfig()
    split = ablation.split_cold_warm((data.train + data.test).tocsr(), deep.ablation)
    with pytest.raises(ModelError, match="unknown variant"):
        ablation.fit_variant("nope", split, data.features, deep, {})
    with pytest.raises(ModelError, match="no recommender named"):
        ablation.make_model("no_such_model", {})


def test_config_rejects_unknown_groups_and_no_reference() -> None:
    with pytest.raises(ValueError, match="unknown feature group"):
        AblationConfig(variants={"x": ("lyrics",)})
    with pytest.raises(ValueError, match="reference model"):
        AblationConfig(reference_models=())


def test_pool_seeds_takes_the_seed_as_unit() -> None:
    def seed_table(ials: float, model: float) -> pd.DataFrame:
        nan = float("nan")
        rows = [("ials", ials, nan), ("cb2cf", model, model - ials)]
        return pd.DataFrame(
            [
                {"variant": v, "slice": "cold", "metric": "ndcg", "mean": m, "ci_low": m,
                 "ci_high": m, "diff_vs_ref": d, "diff_ci_low": d, "diff_ci_high": d,
                 "n_users": 10, "p_value": nan, "p_bootstrap": nan, "fit_seconds": 1.0}
                for v, m, d in rows
            ]
        )  # fmt: skip

    pooled = ablation.pool_seeds([seed_table(0.0, 0.4), seed_table(0.0, 0.6)])
    model = pooled.set_index("variant").loc["cb2cf"]
    assert model["n_users"] == 2
    assert model["mean"] == pytest.approx(0.5)
    assert model["diff_vs_ref"] == pytest.approx(0.5)
    # t interval with 1 degree of freedom: 0.5 ± 12.706 · 0.1414 / √2
    assert model["diff_ci_low"] == pytest.approx(0.5 - 12.706 * 0.1, abs=1e-3)
    assert np.isnan(pooled.set_index("variant").loc["ials", "diff_vs_ref"])
    with pytest.raises(InputDataError):
        ablation.pool_seeds([])
