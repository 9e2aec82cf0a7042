"""The run report: stage results (fake and small) → self-contained HTML + Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from moodrec.orchestration.config import STAGE_NAMES, ReportConfig
from moodrec.report import build_report, render_html, render_markdown, write_report
from moodrec.report.build import format_cell, summary_blocks
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from moodrec.report.render import plotly_fragment, report_markdown
from moodrec.storage import describe_file, write_parquet_atomic


def _png(path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [1, 3, 2])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=40)
    plt.close(fig)
    return path


@pytest.fixture
def stage_results(tmp_path: Path) -> dict[str, dict]:
    """Fake results of three stages, with every kind of file a stage writes."""
    reports, features, interim = tmp_path / "reports", tmp_path / "features", tmp_path / "interim"
    png = _png(reports / "profile" / "events_per_user.png")
    other_png = _png(reports / "profile" / "age.png")
    md = reports / "profile" / "profile.md"
    md.write_text(
        f"{SYNTHETIC_BANNER}\n\n# Profile\n\nEvents per user:\n\n![events](events_per_user.png)\n"
    )
    topics = write_parquet_atomic(
        pd.DataFrame({"topic": [0, 1], "words": [["love", "night"], ["rain", "road"]]}),
        features / "topics.parquet",
    )
    big = write_parquet_atomic(pd.DataFrame({"x": range(500)}), features / "topic_map.parquet")
    events = write_parquet_atomic(pd.DataFrame({"user_id": [1, 2]}), interim / "events.parquet")
    sweep = write_parquet_atomic(pd.DataFrame({"k": range(60)}), reports / "sweep.parquet")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0], mode="markers", name="tracks"))
    cdn_map = reports / "topic_map.html"
    cdn_map.write_text(fig.to_html(include_plotlyjs="cdn", full_html=True))
    inline_map = reports / "song_map.html"
    inline_map.write_text(fig.to_html(include_plotlyjs=True, full_html=True))
    plain = reports / "plain.html"
    plain.write_text("<html><body><p>hello from a stage</p></body></html>")
    return {
        "profile": {
            "synthetic": True,
            "summary": {"sandbox": {"users": 10, "events": 4000}},
            "refs": {
                "profile_report": describe_file("profile_report", md),
                "profile_png": describe_file("profile_png", png),
                "profile_age": describe_file("profile_age", other_png).to_dict(),
            },
        },
        "enrich": {
            "synthetic": True,
            "summary": {
                "tracks": 120,
                "by_provider": {
                    "spotify": {"found": 100, "unavailable": 20},
                    "genius": {"found": 90, "error": 3},
                },
                "unreachable": {"spotify.audio_features": "unavailable", "genius.x": "blocked"},
            },
            "refs": {"events": describe_file("events", events)},
        },
        "topics": {
            "synthetic": True,
            "summary": {"k": 2, "labels": {"0": "love", "1": "rain"}},
            "refs": {
                "topics": describe_file("topics", topics),
                "topic_map": describe_file("topic_map", big),
                "topics_sweep": describe_file("topics_sweep", sweep),
                "topic_map_html": describe_file("topic_map_html", cdn_map),
                "song_map": describe_file("song_map", inline_map),
                "plain": describe_file("plain", plain),
            },
        },
    }


def test_html_report_is_self_contained_and_says_synthetic(stage_results, tmp_path) -> None:
    cfg = ReportConfig(max_table_rows=20)
    report = build_report(
        stage_results, {"train": "skipped by orchestration.skip"}, cfg, profile="tiny"
    )
    paths = write_report(report, tmp_path / "out", cfg)
    page = paths["report_html"].read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in page.splitlines()[0]
    body = page.split("<body>", 1)[1]
    assert body.lstrip().startswith('<p class="banner"><strong>SYNTHETIC DATA</strong>')
    # nothing is fetched from the network: no script/img/link source is a URL
    assert not re.search(r"""<(script|img|link|iframe)[^>]+(src|href)=["']?https?:""", page)
    # (plotly.js itself names a CDN for geo topojson only; no figure here uses it)
    rest = page.replace(get_plotlyjs(), "")
    assert "cdn.plot.ly" not in rest
    # plotly.js inlined exactly once, both figures (CDN and inline pages) drawn with it
    assert page.count(get_plotlyjs()) == 1 and "plotly.js v" not in rest
    assert rest.count("Plotly.newPlot") == 2
    # the PNG referenced by the Markdown is embedded there and not repeated; the other once
    assert rest.count("data:image/png;base64,") == 2
    # small tables in full, large report tables cut, interim and big feature tables left out
    assert "love, night" in page and "rain, road" in page
    assert "first 20 of 60 rows" in page
    assert "<td>499</td>" not in page and "user_id" not in page.split("Checkpoints")[0]
    # every stage has a section, in pipeline order; not-run stages say why
    ids = re.findall(r'<section id="([a-z_]+)">', page)
    assert ids == [s for s in STAGE_NAMES if s != "report"]
    assert "Not run: skipped by orchestration.skip." in page
    assert "Not run: not run." in page  # e.g. session: neither run nor explained
    # the banner is said once, at the top, not again by the profile's own Markdown
    assert page.count("SYNTHETIC DATA</strong>") == 1
    # summary values of a stage with its own Markdown report are folded away
    assert "<details><summary>sandbox (" in page
    # a non-plotly HTML page stays sandboxed in an iframe
    assert "srcdoc=" in page and "hello from a stage" in page
    # the enrichment coverage per provider is a matrix, unavailable capabilities are listed
    assert "<th>found</th><th>unavailable</th><th>error</th>" in page
    assert "spotify.audio_features" in page


def test_markdown_sections_carry_the_banner_and_link_files(stage_results, tmp_path) -> None:
    cfg = ReportConfig()
    report = build_report(stage_results, {}, cfg, profile="tiny")
    by_stage = {s.stage: s for s in report.sections}
    md = render_markdown(by_stage["topics"], synthetic=True, link_base=tmp_path / "reports")
    assert md.splitlines()[0] == SYNTHETIC_BANNER
    assert "## Lyric topics: words and topic map" in md
    assert "[interactive figure: Topic map](topic_map.html)" in md  # a heading, not a key
    assert "| topic | words |" in md
    not_run = render_markdown(by_stage["session"], synthetic=False)
    assert "Not run" in not_run and SYNTHETIC_BANNER not in not_run
    whole = report_markdown(report)
    assert whole.splitlines()[0] == SYNTHETIC_BANNER
    # a stage report's own headings are demoted below the section heading
    assert "### Profile" in whole


def test_real_data_report_has_no_banner(stage_results) -> None:
    real = {k: {**v, "synthetic": False} for k, v in stage_results.items()}
    report = build_report(real, {}, ReportConfig(inline_plotly=False), profile="lastfm1k")
    page = render_html(report, ReportConfig(inline_plotly=False))
    assert "SYNTHETIC" not in page
    assert page.startswith("<!DOCTYPE html>")
    assert "plotly.js v" not in page  # not inlined when switched off


def test_summary_blocks_shapes() -> None:
    summary = {
        "events": 10,
        "nested": {"a": {"b": 1}},
        "coverage": {"track_link": {"found": 5, "error": 1}, "lyrics": {"found": 4}},
        "unreachable": {"spotify.audio_features": "unavailable", "genius.lyrics": "blocked"},
        "models": [{"name": "ease", "ndcg": 0.31}, {"name": "ials", "ndcg": 0.29}],
        "parts": {"stats": {"users": 3, "events": 9, "tracks": 4}, "figures": {"age": "a.png"}},
        "by_provider": {
            "lyrics": {"genius": {"found": 8, "error": 1}, "lrclib": {"found": 2, "error": 0}},
            "audio_features": {"spotify": {"found": 0, "unavailable": 10}},
        },
    }
    blocks = {b.title: b for b in summary_blocks(summary, ReportConfig())}
    # unrelated parts are not a matrix: flattened into the summary
    assert blocks["Summary"].rows == (
        ("events", "10"),
        ("parts.stats.users", "3"),
        ("parts.stats.events", "9"),
        ("parts.stats.tracks", "4"),
        ("parts.figures.age", "a.png"),
    )
    assert blocks["nested"].columns == ("", "b")
    assert blocks["coverage"].columns == ("", "found", "error")
    assert blocks["coverage"].rows[1] == ("lyrics", "4", "")
    assert blocks["unreachable"].rows[0] == ("spotify.audio_features", "unavailable")
    assert blocks["models"].columns == ("name", "ndcg")
    by_provider = blocks["by_provider"]
    assert by_provider.columns == ("", "found", "error", "unavailable")
    assert by_provider.rows[0] == ("lyrics · genius", "8", "1", "")
    assert by_provider.rows[2] == ("audio_features · spotify", "0", "", "10")


def test_format_cell() -> None:
    assert format_cell(0.123456, 80) == "0.1235"
    assert format_cell(float("nan"), 80) == ""
    assert format_cell(None, 80) == ""
    assert format_cell(True, 80) == "true"
    assert format_cell(list(range(20)), 200).endswith("… (20 in all)")
    assert format_cell("x" * 100, 10) == "x" * 9 + "…"


def test_plotly_fragment_drops_plotly_js() -> None:
    fig = go.Figure(go.Bar(x=["a"], y=[1]))
    frag = plotly_fragment(fig.to_html(include_plotlyjs="cdn", full_html=True))
    assert frag is not None and "Plotly.newPlot" in frag and "cdn.plot.ly" not in frag
    assert plotly_fragment("<html><body>no figure</body></html>") is None


def test_missing_file_is_listed_not_fatal(tmp_path) -> None:
    gone = write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path / "features" / "gone.parquet")
    ref = describe_file("gone", gone)
    gone.unlink()
    report = build_report(
        {"clusters": {"synthetic": False, "refs": {"gone": ref}, "summary": {}}},
        {},
        ReportConfig(),
        profile="p",
    )
    section = next(s for s in report.sections if s.stage == "clusters")
    (checkpoints,) = section.blocks
    assert checkpoints.rows[0][-1] == "missing on disk"


def test_train_and_evaluate_results_become_sections(tmp_path) -> None:
    """``train_flow`` nests refs and summaries per part; ``evaluate_flow`` names its summary
    ``table``: the report flow reads both shapes."""
    from moodrec.flows.report import stage_refs, stage_summary

    def ref(name: str) -> object:
        path = write_parquet_atomic(pd.DataFrame({"x": [1]}), tmp_path / f"{name}.parquet")
        return describe_file(name, path)

    train = {
        "data_dir": str(tmp_path),
        "synthetic": True,
        "split": {"refs": {"recommend_train": ref("train")}, "summary": {"n_users": 3}},
        "fits": {
            "ease": {"refs": {"model_ease": ref("ease")}, "summary": {"fit_s": 0.1}},
            "ials": {"refs": {"model_ials": ref("ials")}, "summary": {"fit_s": 0.2}},
        },
        "features": {},
    }
    assert set(stage_refs(train)) == {"recommend_train", "model_ease", "model_ials"}
    assert stage_summary(train) == {
        "split": {"n_users": 3},
        "fits": {"ease": {"fit_s": 0.1}, "ials": {"fit_s": 0.2}},
    }
    evaluate = {"refs": {"m": ref("m").to_dict()}, "table": {"best_model": "ease"}}
    assert stage_summary(evaluate) == {"best_model": "ease"}
    assert stage_refs(evaluate)["m"].rows == 1
    section = build_report(
        {"train": {"synthetic": True, "refs": stage_refs(train), "summary": stage_summary(train)}},
        {},
        ReportConfig(),
        profile="tiny",
    ).sections
    ran = {s.stage: s for s in section if s.ran}
    assert ran["train"].blocks
