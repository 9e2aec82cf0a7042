"""The HetRec benchmark's rows: every variant builds its model; several references pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from benchmarks.bench_hetrec import (
    BASE,
    SPACES,
    VARIANTS,
    combine,
    hand_written_notes,
    markdown,
    side_information_used,
)

from moodrec.models import create_model


def test_every_variant_builds_its_model_with_its_fixed_and_searched_parameters() -> None:
    for row, (model_name, fixed) in VARIANTS.items():
        params = {k: v for k, v in (BASE.get(row, {}) | fixed).items() if k != "weighting"}
        for key, values in SPACES.get(row, {}).items():
            if key != "weighting":
                params[key] = values[0]
        model = create_model(model_name, **params)
        for key, value in params.items():
            assert model.params[key] == value, (row, key)


def test_pure_cf_rows_use_no_side_information() -> None:
    """ials_wide_ease: iALS + EASE only, no tag rows, no friends, no tag or social part."""
    model_name, fixed = VARIANTS["ials_wide_ease"]
    model = create_model(model_name, **{k: v for k, v in fixed.items() if k != "weighting"})
    assert model.params["parts"] == ["ease"]
    assert model.params["tag_rows"] == 0.0 and model.params["friend_cols"] == 0.0
    assert VARIANTS["ials_xwide"][0] == "ials"


def _row(seed: int, ndcg: float, refs: list[tuple[str, float]]) -> dict:
    records = [
        {"reference": r, "diff": d, "ci": [d - 0.01, d + 0.01], "p_wilcoxon": 0.01, "n_users": 9}
        for r, d in refs
    ]
    row = {
        "seed": seed,
        "ndcg@20": ndcg,
        "recall@20": ndcg,
        "hr@20": ndcg,
        "mrr@20": ndcg,
        "fit_s": 1.0,
        "tuning_s": 0.0,
        "best_params": {},
    }
    if records:
        row["vs_ials"] = records[0]
    if len(records) > 1:
        row["vs_more"] = records[1:]
    return row


def test_second_references_survive_combine_and_reach_the_markdown() -> None:
    base = {"per_seed": {"ials": [_row(1, 0.29, [])]}, "models": ["ials"]}
    part = {
        "per_seed": {
            "ials_wide": [_row(1, 0.30, [("ials", 0.01)])],
            "union": [_row(1, 0.31, [("ials", 0.02), ("ials_wide", 0.015)])],
        }
    }
    result = combine(base, [part], [1])
    assert result["models"] == ["ials", "ials_wide", "union"]
    assert np.isclose(result["summary"]["union"]["ndcg@20"]["mean"], 0.31)
    text = markdown(result, [1])
    assert "| union | 1 | 0.3100 | +0.0200" in text
    assert "| union (vs `ials_wide`) | 1 | 0.3100 | +0.0150" in text


def test_combine_keeps_the_hand_written_sections(tmp_path: Path) -> None:
    md = tmp_path / "hetrec.md"
    assert hand_written_notes(md) == ""
    md.write_text("# generated\n\n| table |\n\n## Notes\n\nby hand\n\n## More\n")
    assert hand_written_notes(md) == "\n## Notes\n\nby hand\n\n## More\n"
    md.write_text("# generated only\n")
    assert hand_written_notes(md) == ""


def test_side_information_of_each_row() -> None:
    assert side_information_used("ials_wide_tags") == "tags"
    assert side_information_used("ials_wide_sorec_tags") == "friends + tags"
    assert side_information_used("blend_social_tags") == "friends + tags"
    for pure in ("ials", "ials_wide", "ials_xwide", "ials_wide_ease", "ease_ials", "bpr"):
        assert side_information_used(pure) is None, pure
