"""The enrich stage with the ``acousticbrainz_dump`` provider (the world's dumps, no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from moodrec.config.base import Secrets
from moodrec.enrich.clients import build_providers, with_sandbox_dumps
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.outputs import session_features_from_enrich
from moodrec.enrich.stage import run_enrichment
from moodrec.errors import ConfigError, InputDataError


def ab_config(world_dir: Path, **kw) -> EnrichConfig:
    return with_sandbox_dumps(
        EnrichConfig(
            spotify=None,
            genius=None,
            lrclib=None,
            features_order=("acousticbrainz_dump",),
            acousticbrainz_dump={},
            batch_size=60,
            cache={"enabled": False},
            **kw,
        ),
        world_dir,
    )


def test_dump_gives_features_moods_and_provenance(world_dir: Path, catalogue: Path, tmp_path):
    cfg = ab_config(world_dir)
    assert cfg.acousticbrainz_dump.paths == (world_dir / "acousticbrainz",)
    result = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, Secrets()))
    assert result.n_batches > 1
    tracks = pl.read_parquet(catalogue)
    feats = pl.read_parquet(result.outputs["track_features"])
    moods = pl.read_parquet(result.outputs["track_moods"])
    status = pl.read_parquet(result.outputs["enrich_status"])
    # every track was asked once; found ⇔ a track_moods row ⇔ a features row
    assert status.filter(pl.col("capability") == "audio_features").height == tracks.height
    assert set(feats["track_id"]) == set(moods["track_id"])
    assert 0 < feats.height < tracks.height
    assert (feats["provider"] == "acousticbrainz_dump").all()
    assert feats["valence"].is_between(0, 1).all() and feats["energy"].is_between(0, 1).all()
    assert feats["liveness"].is_null().all()  # nothing invented that AcousticBrainz lacks
    joined = moods.join(tracks, on="track_id")
    assert (joined["mbid"] == joined["track_mbid"].str.to_lowercase()).all()
    assert joined["highlevel_member"].str.ends_with(".json").all()
    assert joined["highlevel_file"].str.ends_with(".tar.zst").all()
    # the planted truth shows through the mapped coordinates
    truth = pd.read_parquet(world_dir / "truth" / "tracks.parquet", columns=["track_id", "valence"])
    both = feats.to_pandas().merge(truth, on="track_id", suffixes=("", "_true"))
    assert np.corrcoef(both["valence"], both["valence_true"])[0, 1] > 0.6
    assert result.coverage["coverage"]["audio_features"]["found"] == feats.height
    fields = result.coverage["fields"]["track_moods"]
    assert fields["rows"] == moods.height
    assert fields["mood_happy"] == moods["mood_happy"].is_not_null().sum() > 0
    # one scan for the whole run: one extract in the output folder
    assert len(list(tmp_path.glob("acousticbrainz_*.parquet"))) == 1


def test_session_features_from_enrich(world_dir: Path, catalogue: Path, tmp_path) -> None:
    cfg = ab_config(world_dir)
    result = run_enrichment(catalogue, tmp_path, cfg, build_providers(cfg, Secrets()))
    frame = session_features_from_enrich(catalogue, result.outputs["track_features"])
    assert {"track_mbid", "artist_name", "track_name", "valence", "energy"} <= set(frame.columns)
    assert len(frame) == pl.read_parquet(result.outputs["track_features"]).height
    assert frame[["valence", "energy"]].notna().all().all()
    empty = pl.read_parquet(result.outputs["track_features"]).head(0)
    empty_path = tmp_path / "none.parquet"
    empty.write_parquet(empty_path)
    with pytest.raises(InputDataError, match="valence and energy"):
        session_features_from_enrich(catalogue, empty_path)


def test_unconfigured_paths_fail_clearly(tmp_path: Path) -> None:
    cfg = EnrichConfig(
        spotify=None, genius=None, lrclib=None, acousticbrainz_dump={"paths": [str(tmp_path)]}
    )
    with pytest.raises(InputDataError, match="no dump file"):
        build_providers(cfg, Secrets())
    with pytest.raises(ConfigError):
        build_providers(EnrichConfig(spotify=None, genius=None, lrclib=None), Secrets())
