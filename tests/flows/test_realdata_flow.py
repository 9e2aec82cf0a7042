"""Real logs through the stage flows (issue 16): a skipped ingest is never re-run, a one-user
log publishes no metrics, ``--exclude-seen`` lists no unscored items, HetRec trains."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moodrec.catalogue import Catalogue
from moodrec.errors import CatalogueError
from moodrec.flows.recommend import evaluate_flow, recommend_user
from moodrec.flows.session import session_flow
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.listens import ingest_sources
from moodrec.storage import fingerprint_file

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
HETREC = SHARED / "hetrec2011_lastfm_2k"
LOG_1K = SHARED / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"
needs_1k = pytest.mark.skipif(not LOG_1K.is_file(), reason="../shared/data absent")
needs_hetrec = pytest.mark.skipif(not HETREC.is_dir(), reason="../shared/data absent")

SESSION = {
    "models": ["pop", "sknn"],
    "window_quantiles": [0.7],
    "window_models": ["pop"],
    "max_eval_sessions": 20,
    "bootstrap_rounds": 50,
    "features_source": "none",
}
FAST = {"models": ["popularity", "itemknn", "ials"], "n_bootstrap": 50, "serve_model": "ials"}


def _export_of_1k_user(path: Path, user: str = "user_000001") -> Path:
    """A scrobble export in the uts/utc_time/MBID layout, built from the real 1K sample."""
    with LOG_1K.open(encoding="utf-8") as fh, path.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["uts", "utc_time", "artist", "artist_mbid", "album", "album_mbid", "track",
                    "track_mbid"])  # fmt: skip
        for line in fh:
            u, ts, ambid, artist, tmbid, track = line.rstrip("\n").split("\t")
            if u != user:
                continue
            t = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            w.writerow([int(t.timestamp()), f"{t:%d %b %Y, %H:%M}", artist, ambid, "", "",
                        track, tmbid])  # fmt: skip
    return path


def _ingest_into(data_dir: Path, cfg: IngestConfig) -> None:
    """What `moodrec ingest ...` leaves in a data folder: the tables and their manifest."""
    cat = Catalogue(data_dir)
    res = ingest_sources(cfg, cat.layer_dir("interim"))
    cat.register_many(res.outputs)


@needs_1k
def test_a_skipped_ingest_is_never_rerun_nor_overwritten(harness, config_env, tmp_path) -> None:
    # issue 16: with orchestration.skip: [ingest] the session stage re-ingested the profile's
    # own log (here a path that does not exist) and overwrote the tables already there
    data_dir = tmp_path / "data"
    _ingest_into(data_dir, IngestConfig(source="lastfm1k", log_path=LOG_1K))
    events = data_dir / "interim" / "events.parquet"
    before = fingerprint_file(events)
    overrides = {
        "paths": {"data_dir": str(data_dir)},
        "ingest": {"source": "lastfm1k", "log_path": str(tmp_path / "not-there.tsv")},
        "orchestration": {"skip": ["ingest"]},
        "session": SESSION,
    }
    result = session_flow(profile="tiny", overrides=overrides)
    assert result["synthetic"] is False and "session_results" in result["refs"]
    assert fingerprint_file(events) == before


def test_a_stage_whose_ingest_tables_are_missing_names_them(harness, config_env, tmp_path):
    overrides = {
        "paths": {"data_dir": str(tmp_path / "empty")},
        "orchestration": {"skip": ["ingest"]},
        "session": SESSION,
    }
    with pytest.raises(CatalogueError, match=r"session: .*missing in .*events, tracks, users"):
        session_flow(profile="tiny", overrides=overrides)
    assert not (tmp_path / "empty" / "interim" / "events.parquet").exists()


@needs_1k
def test_one_user_log_withholds_metrics_and_lists_only_scored_items(
    harness, config_env, tmp_path
) -> None:
    # issue 16: a one-user log scored NDCG@20 1.0 for every model, and `recommend
    # --exclude-seen` returned items with scores ~1e-14 (items nobody played in training)
    export = _export_of_1k_user(tmp_path / "me.csv")
    # a profile given as a YAML path (the stages' own ingest must load it by path, too)
    profile = tmp_path / "mine.yaml"
    profile.write_text(
        f"paths: {{data_dir: {tmp_path / 'data'}}}\n"
        f"ingest: {{source: scrobbles, log_path: {export}}}\n",
        encoding="utf-8",
    )
    overrides = {"recommend": FAST}
    result = evaluate_flow(profile=str(profile), overrides=overrides)
    table = result["table"]
    assert table["withheld"] is True and table["n_users"] == 1
    assert "1 user(s)" in table["reason"] and "min_eval_users = 20" in table["reason"]
    assert not (tmp_path / "data" / "reports" / "recommend_metrics.parquet").exists()
    assert "metrics withheld" in Path(result["refs"]["recommend_metrics_md"].path).read_text()
    # the export's user gets a list in the report all the same
    listed = Path(result["refs"]["user_recommendations"].path).read_text()
    assert "## me" in listed
    seen = recommend_user(str(profile), "me", k=10, exclude_seen=True, overrides=overrides)
    # every item with training plays is the user's own: nothing scored is left to list
    assert seen.empty
    unseen = recommend_user(str(profile), "me", k=10, overrides=overrides)
    assert len(unseen) == 10 and (unseen["score"] > 1e-6).all()


@needs_hetrec
def test_hetrec_profile_trains_evaluates_and_recommends(harness, config_env, tmp_path) -> None:
    # issue 16: `moodrec train --profile` on HetRec re-read the Last.fm 1K path
    overrides = {
        "paths": {"data_dir": str(tmp_path / "data")},
        "ingest": {"log_path": str(HETREC)},
        "recommend": {**FAST, "report_users": ["2", "nobody"]},
    }
    result = evaluate_flow(profile="hetrec", overrides=overrides)
    models = result["table"]["models"]
    assert set(models) == set(FAST["models"])
    # CF learns from 1,892 listeners: well above popularity (HetRec NDCG@20 ~0.1 vs ~0.25+)
    assert models["ials"]["ndcg@20"] > models["popularity"]["ndcg@20"] + 0.05
    listed = Path(result["refs"]["user_recommendations"].path).read_text()
    assert "## 2" in listed and "unknown user 'nobody'" in listed
    top = recommend_user("hetrec", "2", k=5, exclude_seen=True, overrides=overrides)
    assert len(top) == 5 and (top["title"] == "").all() and top["artist"].str.len().min() > 0


@needs_hetrec
def test_artist_level_profiles_plan_their_skips_with_reasons(config_env) -> None:
    from moodrec.config.loader import load_settings
    from moodrec.flows.pipeline import planned_stages

    for profile in ("hetrec", "scrobbles"):
        over = {"ingest": {"log_path": str(HETREC)} if profile == "hetrec" else {"paths": [
            str(HETREC)]}}  # fmt: skip
        settings = load_settings(profile, overrides=over, environ={})
        run, not_run = planned_stages(settings.orchestration.skip, settings)
        # hetrec runs the ablation on its own artist tags (CF vs CF + tags)
        expected = ["ingest", "profile", "content", "genres", "train", "evaluate"]
        assert run == expected + (["ablation"] if profile == "hetrec" else [])
        assert "needs listening events with timestamps" in not_run["session"]
        assert "artist-level" in not_run["enrich"] and "enrich is skipped" in not_run["topics"]
        settings.check_real_inputs(run)
    demo = load_settings("demo", environ={})
    assert planned_stages(demo.orchestration.skip, demo)[1] == {}
