"""Bootstrap CIs and paired tests."""

from __future__ import annotations

import numpy as np
import pytest

from moodrec.errors import InputDataError
from moodrec.evaluation.stats import bootstrap_ci, paired_comparison


def test_bootstrap_ci_brackets_the_mean_and_is_seeded() -> None:
    v = np.random.default_rng(0).normal(0.3, 0.1, 400)
    mean, lo, hi = bootstrap_ci(v, n_boot=500, seed=1)
    assert lo < mean < hi
    # ~ mean ± 1.96 σ/√n
    assert hi - lo == pytest.approx(2 * 1.96 * 0.1 / 20, rel=0.2)
    assert bootstrap_ci(v, n_boot=500, seed=1) == (mean, lo, hi)
    assert bootstrap_ci(np.array([0.5]))[1] == 0.5
    assert np.isnan(bootstrap_ci(np.array([]))[0])


def test_paired_comparison_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(3)
    b = rng.random(300)
    better = paired_comparison(b + 0.05 + rng.normal(0, 0.02, 300), b, n_boot=500)
    assert better.mean_diff == pytest.approx(0.05, abs=0.01)
    assert better.ci_low > 0 and better.p_wilcoxon < 1e-6 and better.p_bootstrap < 0.01
    same = paired_comparison(b, b)
    assert same.mean_diff == 0 and same.p_wilcoxon == 1.0
    with pytest.raises(InputDataError, match="same users"):
        paired_comparison(b, b[:-1])
