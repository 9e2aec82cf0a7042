"""The contract every saved model honours, as test mixins (implicit's ``RecommenderBaseTestMixin``).

:class:`SavedModelContract` tests what :class:`moodrec.models.saved.SavedModel` promises to
both families — registry, JSON parameters, a save/load round trip that keeps the scores,
seeded fits, refusals when unfitted, unreadable or of another class.
:class:`RecommenderContract` and :class:`SessionRecommenderContract` add each family's
ranking contract on data whose right answer is known.

A test class mixes one of them in and provides two class-scoped fixtures: ``name``
(parametrised over the family's registry, so a new model is tested once its module is listed)
and ``data`` (what the family fits on). Models may set ``contract_params`` for a fast fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from moodrec.errors import ModelError, ModelFitError, ModelLoadError
from moodrec.models.base import ItemFeatures, Recommender
from moodrec.models.saved import ARRAYS_FIELD, ARRAYS_NPZ, STATE_PREFIX, SavedModel
from moodrec.session.base import SessionRecommender
from moodrec.session.data import SessionData


def read_npz(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / ARRAYS_NPZ, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write_npz(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(folder / ARRAYS_NPZ, "wb") as fh:
        np.savez(fh, **arrays)


def float_key(arrays: dict[str, np.ndarray], may_hold_nan: frozenset[str]) -> str:
    """A non-empty float array, learned state first (``seen__data`` / ``popularity`` else)."""
    keys = [k for k, a in arrays.items() if a.dtype.kind == "f" and a.size]
    keys = [k for k in keys if k.removeprefix(STATE_PREFIX) not in may_hold_nan]
    state = [k for k in keys if k.startswith(STATE_PREFIX)]
    return sorted(state or keys)[0]


#: how a saved folder is tampered with → what the error must say
NPZ_TAMPERING: dict[str, str] = {
    "truncated": "cannot read the saved arrays",
    "empty": "empty file",
    "garbage": "cannot read the saved arrays",
    "deleted": "missing",
    "missing key": r"missing array\(s\)",
    "no arrays": r"missing array\(s\)",
    "dtype to int": "the model was saved with",
    "dtype to text": "non-numeric dtype",
    "shape": "has shape",
    "nan": "non-finite",
    "inf": "non-finite",
}


class SavedModelContract:
    """Tests of the saved-model base, through the family hooks ``fit``, ``scores``, ``top``."""

    family: ClassVar[type[SavedModel]]

    # -- hooks ----------------------------------------------------------------------------
    def fit(self, model: Any, data: Any) -> Any:
        raise NotImplementedError

    def scores(self, model: Any, data: Any) -> np.ndarray:
        """Deterministic scores of a fitted model (compared after save/load and re-fits)."""
        raise NotImplementedError

    def top(self, model: Any, data: Any, k: int) -> np.ndarray:
        """Recommended item indices of a fitted model."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def make(self, name: str, seed: int = 0) -> Any:
        klass = self.family.registry[name]
        params = dict(klass.contract_params)  # type: ignore[attr-defined]
        model = klass(**params)
        if "seed" in model.params:
            model = klass(**(params | {"seed": seed}))
        return model

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, name: str, data: Any) -> Any:
        contract = cls()
        return contract.fit(contract.make(name), data)

    def test_registered_under_its_name(self, name: str) -> None:
        klass = self.family.registry[name]
        assert klass.name == name and issubclass(klass, self.family)

    def test_params_are_json(self, fitted: Any) -> None:
        assert json.loads(json.dumps(fitted.params)) == fitted.params

    def test_unfitted_model_refuses_to_recommend_and_save(
        self, name: str, data: Any, tmp_path: Path
    ) -> None:
        model = self.make(name)
        assert not model.fitted
        with pytest.raises(ModelError, match="fit"):
            self.top(model, data, 3)
        with pytest.raises(ModelError, match="fit"):
            model.save(tmp_path / name)

    def test_save_load_round_trip_keeps_scores(
        self, fitted: Any, data: Any, tmp_path: Path
    ) -> None:
        folder = fitted.save(tmp_path / fitted.name)
        loaded = self.family.load(folder)
        assert type(loaded) is type(fitted) and loaded.params == fitted.params and loaded.fitted
        np.testing.assert_allclose(
            self.scores(loaded, data), self.scores(fitted, data), rtol=1e-6, atol=1e-6
        )
        np.testing.assert_array_equal(self.top(loaded, data, 4), self.top(fitted, data, 4))

    def test_loading_as_another_class_is_refused(self, fitted: Any, tmp_path: Path) -> None:
        folder = fitted.save(tmp_path / fitted.name)
        other = next(k for k in self.family.registry.values() if not isinstance(fitted, k))
        with pytest.raises(ModelError, match="not a"):
            other.load(folder)

    def test_same_seed_same_scores(self, name: str, data: Any) -> None:
        a = self.scores(self.fit(self.make(name, seed=3), data), data)
        b = self.scores(self.fit(self.make(name, seed=3), data), data)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize("tampering", sorted(NPZ_TAMPERING))
    def test_a_tampered_arrays_file_is_a_load_error_naming_it(
        self, fitted: Any, tmp_path: Path, tampering: str
    ) -> None:
        folder = fitted.save(tmp_path / fitted.name)
        path = folder / ARRAYS_NPZ
        arrays = read_npz(folder)
        key = float_key(arrays, type(fitted).may_hold_nan)
        if tampering == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif tampering == "empty":
            path.write_bytes(b"")
        elif tampering == "garbage":
            path.write_bytes(b"PK\x03\x04 not really a zip archive" * 8)
        elif tampering == "deleted":
            path.unlink()
        elif tampering == "no arrays":
            write_npz(folder, {})
        elif tampering == "missing key":
            write_npz(folder, {k: a for k, a in arrays.items() if k != key})
        elif tampering == "dtype to int":
            write_npz(folder, arrays | {key: arrays[key].astype(np.int64)})
        elif tampering == "dtype to text":
            write_npz(folder, arrays | {key: arrays[key].astype(str)})
        elif tampering == "shape":
            write_npz(folder, arrays | {key: arrays[key].ravel()[:-1]})
        else:
            bad = arrays[key].copy()
            bad.flat[bad.size // 2] = np.nan if tampering == "nan" else np.inf
            write_npz(folder, arrays | {key: bad})
        with pytest.raises(ModelLoadError, match=NPZ_TAMPERING[tampering]) as err:
            self.family.load(folder)
        assert str(path) in str(err.value)

    @pytest.mark.parametrize(
        ("tampering", "message"),
        [
            ("not an object", "expected a JSON object"),
            ("unknown model", "unknown"),
            ("params not an object", "'params' must be an object"),
            ("model not a name", "'model' must be a model name"),
            ("deleted", "missing"),
        ],
    )
    def test_a_tampered_json_file_is_a_load_error_naming_it(
        self, fitted: Any, tmp_path: Path, tampering: str, message: str
    ) -> None:
        folder = fitted.save(tmp_path / fitted.name)
        path = folder / self.family.meta_file
        meta = json.loads(path.read_text())
        if tampering == "not an object":
            path.write_text(json.dumps([meta]))
        elif tampering == "unknown model":
            path.write_text(json.dumps(meta | {"model": "no_such_model"}))
        elif tampering == "params not an object":
            path.write_text(json.dumps(meta | {"params": [1, 2]}))
        elif tampering == "model not a name":
            path.write_text(json.dumps(meta | {"model": None}))
        else:
            path.unlink()
        with pytest.raises(ModelLoadError, match=message) as err:
            self.family.load(folder)
        assert str(path) in str(err.value)

    def test_counts_that_disagree_with_the_arrays_are_a_load_error(
        self, fitted: Any, tmp_path: Path
    ) -> None:
        folder = fitted.save(tmp_path / fitted.name)
        path = folder / self.family.meta_file
        meta = json.loads(path.read_text())
        path.write_text(json.dumps(meta | {"n_items": meta["n_items"] + 3}))
        with pytest.raises(ModelLoadError, match="do not make a valid") as err:
            self.family.load(folder)
        assert str(folder) in str(err.value)
        path.write_text(json.dumps(meta | {"n_items": "many"}))
        with pytest.raises(ModelLoadError, match="many"):
            self.family.load(folder)

    def test_a_folder_saved_without_the_manifest_still_refuses_a_missing_array(
        self, fitted: Any, tmp_path: Path
    ) -> None:
        """Folders written before the array manifest: the restore's KeyError is a load error."""
        folder = fitted.save(tmp_path / fitted.name)
        path = folder / self.family.meta_file
        meta = json.loads(path.read_text())
        path.write_text(json.dumps({k: v for k, v in meta.items() if k != ARRAYS_FIELD}))
        assert type(self.family.load(folder)) is type(fitted)  # loads as before
        write_npz(folder, {})  # a valid, empty archive
        with pytest.raises(ModelLoadError, match="do not make a valid") as err:
            self.family.load(folder)
        assert str(folder) in str(err.value)

    def test_unreadable_or_other_schema_is_refused(self, tmp_path: Path) -> None:
        meta = tmp_path / self.family.meta_file
        meta.write_text("{not json")
        with pytest.raises(ModelError, match=self.family.meta_file.replace(".", r"\.")):
            self.family.load(tmp_path)
        meta.write_text('{"schema_version": 99}')
        with pytest.raises(ModelError, match="schema_version"):
            self.family.load(tmp_path)


# -- user × item recommenders -------------------------------------------------------------
N_BLOCK_USERS, BLOCK_ITEMS, N_COLD = 6, 5, 2
N_ITEMS = 2 * BLOCK_ITEMS + N_COLD
GROUPS = ("audio", "genre", "cluster", "topics", "popularity")


def block_matrix() -> tuple[sp.csr_matrix, np.ndarray]:
    """Two taste blocks; each user has played 4 of their block's 5 items (a rotating one is
    missing) and nothing outside it; items 10 and 11 are cold. The right top-1 for every user
    is the missing block item."""
    rows, cols, missing = [], [], []
    for block in range(2):
        for j in range(N_BLOCK_USERS):
            u = block * N_BLOCK_USERS + j
            miss = block * BLOCK_ITEMS + j % BLOCK_ITEMS
            missing.append(miss)
            for i in range(block * BLOCK_ITEMS, (block + 1) * BLOCK_ITEMS):
                if i != miss:
                    rows.append(u)
                    cols.append(i)
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(2 * N_BLOCK_USERS, N_ITEMS))
    return m, np.asarray(missing)


def item_features() -> ItemFeatures:
    """One column per content group; the audio column separates the two blocks."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(N_ITEMS, len(GROUPS))).astype(np.float32)
    values[:, 0] = np.repeat([1.0, -1.0, 0.0], [BLOCK_ITEMS, BLOCK_ITEMS, N_COLD])
    return ItemFeatures(values, list(GROUPS), {g: [g] for g in GROUPS})


class RecommenderContract(SavedModelContract):
    """The recommender contract on :func:`block_matrix` (``data`` = the matrix)."""

    family = Recommender
    #: models not expected to find the missing item: a global ranking, and the rating
    #: regressors (every value here is 1, so there is nothing to regress)
    non_personal: ClassVar[set[str]] = {"popularity", "rating_mf", "rating_deep"}

    def fit(self, model: Recommender, data: sp.csr_matrix) -> Recommender:
        return model.fit(data, item_features=item_features())

    def scores(self, model: Recommender, data: sp.csr_matrix) -> np.ndarray:
        return model.score(np.arange(data.shape[0]))

    def top(self, model: Recommender, data: sp.csr_matrix, k: int) -> np.ndarray:
        return model.recommend(np.arange(data.shape[0]), k)[0]

    def test_recommends_the_missing_block_item_first(
        self, name: str, fitted: Recommender, data: sp.csr_matrix
    ) -> None:
        if name in self.non_personal:
            pytest.skip(f"{name} is not a personalised ranking")
        _, missing = block_matrix()
        idx, _ = fitted.recommend(np.arange(data.shape[0]), 1, exclude_seen=True)
        assert (idx[:, 0] == missing).mean() >= 0.75, idx[:, 0]

    def test_exclude_seen_and_candidate_restriction(
        self, fitted: Recommender, data: sp.csr_matrix
    ) -> None:
        users = np.arange(data.shape[0])
        idx, scores = fitted.recommend(users, N_ITEMS, exclude_seen=True)
        for u in users:
            got = idx[u][idx[u] >= 0]
            assert not set(got) & set(data[u].indices)
            assert len(got) == N_ITEMS - data[u].nnz  # every unseen item ranked, seen padded
            assert np.all(np.diff(scores[u][: len(got)]) <= 0)
        idx_all, _ = fitted.recommend(users, N_ITEMS, exclude_seen=False)
        assert np.all(idx_all >= 0)
        cand = np.array([1, 7, 11])
        idx_c, _ = fitted.recommend([0, 6], 5, exclude_seen=False, items=cand)
        assert set(idx_c[idx_c >= 0].tolist()) <= set(cand.tolist())
        assert np.all(idx_c[:, 3:] == -1)

    def test_score_shapes(self, fitted: Recommender) -> None:
        assert fitted.score(np.array([0, 3]), None).shape == (2, N_ITEMS)
        assert fitted.score(np.array([0, 3]), np.array([2, 5, 11])).shape == (2, 3)
        np.testing.assert_allclose(
            fitted.score(np.array([4]), np.array([2, 5]))[0],
            fitted.score(np.array([4]), None)[0, [2, 5]],
            rtol=1e-5,
            atol=1e-6,
        )

    @pytest.mark.parametrize("k", [N_ITEMS, N_ITEMS + 1, 10**8, 2**62])
    def test_a_huge_k_returns_at_most_the_catalogue(
        self, fitted: Recommender, data: sp.csr_matrix, k: int
    ) -> None:
        users = np.arange(data.shape[0])
        for exclude_seen in (True, False):
            idx, scores = fitted.recommend(users, k, exclude_seen=exclude_seen)
            assert idx.shape == scores.shape == (users.size, N_ITEMS)
        full, _ = fitted.recommend(users, N_ITEMS, exclude_seen=True)
        np.testing.assert_array_equal(fitted.recommend(users, k)[0], full)
        for bad in (0, -5, 2.5):
            with pytest.raises(ModelError, match="k must be an integer >= 1"):
                fitted.recommend([0], bad)  # type: ignore[arg-type]

    def test_nan_scores_are_an_error_not_an_empty_list(
        self, fitted: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        model = Recommender.load(fitted.save(tmp_path / fitted.name))
        nan = np.full((1, N_ITEMS), np.nan)
        monkeypatch.setattr(model, "score", lambda users, items=None: nan)
        monkeypatch.setattr(model, "_exact_top_k", lambda users, k, exclude_seen: None)
        with pytest.raises(ModelError, match="NaN scores"):
            model.recommend([0], 5)

    def test_empty_training_matrix_is_a_fit_error(self, name: str) -> None:
        with pytest.raises(ModelFitError):
            self.make(name).fit(sp.csr_matrix((3, 4), dtype=np.float32))


# -- session recommenders -----------------------------------------------------------------
class SessionRecommenderContract(SavedModelContract):
    """The session-recommender contract (``data`` = training sessions)."""

    family = SessionRecommender

    @staticmethod
    def prefix(data: SessionData) -> np.ndarray:
        return data.session(0)[:2]

    def fit(self, model: SessionRecommender, data: SessionData) -> SessionRecommender:
        return model.fit(data)

    def scores(self, model: SessionRecommender, data: SessionData) -> np.ndarray:
        return model.score_next(self.prefix(data), 0)

    def top(self, model: SessionRecommender, data: SessionData, k: int) -> np.ndarray:
        return model.recommend_next(self.prefix(data), user=0, k=k)[0]

    def test_next_items_are_distinct_ranked_and_exclusions_hold(
        self, fitted: SessionRecommender, data: SessionData
    ) -> None:
        prefix = self.prefix(data)
        idx, scores = fitted.recommend_next(prefix, user=0, k=5)
        assert idx.shape == (5,) and scores.shape == (5,)
        assert ((idx >= 0) & (idx < data.n_items)).all() and len(set(idx)) == 5
        assert np.all(np.diff(scores) <= 0)
        excl, _ = fitted.recommend_next(prefix, user=0, k=5, exclude=idx[:2])
        assert not set(idx[:2]) & set(excl)
        # an empty prefix (a new session) still gets a full list
        assert (fitted.recommend_next([], user=0, k=3)[0] >= 0).all()
        with pytest.raises(ModelError, match="outside"):
            fitted.recommend_next([data.n_items], k=3)

    @pytest.mark.parametrize("k", [10**8, 2**62])
    def test_a_huge_k_returns_at_most_the_catalogue(
        self, fitted: SessionRecommender, data: SessionData, k: int
    ) -> None:
        idx, scores = fitted.recommend_next(self.prefix(data), user=0, k=k)
        assert idx.shape == scores.shape == (data.n_items,)
        full, _ = fitted.recommend_next(self.prefix(data), user=0, k=data.n_items)
        np.testing.assert_array_equal(idx, full)
        with pytest.raises(ModelError, match="k must be"):
            fitted.recommend_next(self.prefix(data), user=0, k=0)

    def test_nan_scores_are_an_error_not_an_empty_list(
        self, fitted: SessionRecommender, data: SessionData, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        nan = np.full(data.n_items, np.nan)
        monkeypatch.setattr(fitted, "score_next", lambda prefix, user=None, target_mood=None: nan)
        with pytest.raises(ModelError, match="NaN scores"):
            fitted.recommend_next(self.prefix(data), user=0, k=3)

    def test_no_training_sessions_is_an_error(self, name: str, data: SessionData) -> None:
        with pytest.raises(ModelError, match="no training sessions"):
            self.make(name).fit(data.subset(np.array([], dtype=np.int64)))
