"""Prefect tasks of the report stage: build the report files, publish them as artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import TASK_SOURCE

from moodrec.catalogue import Catalogue
from moodrec.orchestration.config import ReportConfig
from moodrec.report import build_study_report, render_markdown, write_report
from moodrec.report.build import as_ref
from moodrec.report.checkpoints import SYNTHETIC_BANNER
from moodrec.storage import DatasetRef, stage_outputs
from moodrec.tasks.artifacts import artifact_key
from moodrec.tasks.cache_policy import PUBLISH_CACHE, ContentKey

#: the stage results of the last pipeline run, so ``report_flow`` can run on its own
RESULTS_FILE = "pipeline_results.json"


def stage_refs_only(inputs: dict[str, Any]) -> dict[str, Any]:
    """The report's key inputs: every stage's refs (by fingerprint), not its summary; the
    provenance without its start and end times.

    Summaries also hold per-run counters (batches run vs resumed, requests sent to the
    sandbox servers) that differ between a first run and an unchanged re-run; the report
    describes the checkpoints, so it is rebuilt when they change, not when counters do.
    """
    stages = inputs.get("stages") or {}
    # a re-run that changes nothing re-uses the report; it names the run that made it
    provenance = {
        k: v
        for k, v in (inputs.get("provenance") or {}).items()
        if k not in {"started", "finished"}
    }
    return {
        **inputs,
        "provenance": provenance,
        "stages": {
            name: {"synthetic": r.get("synthetic"), "refs": r.get("refs")}
            for name, r in stages.items()
        },
    }


#: refs + config + not-run reasons + this task's source
REPORT_CACHE = ContentKey(key_inputs=stage_refs_only) + TASK_SOURCE


def results_record(
    stages: dict[str, dict[str, Any]], not_run: dict[str, str], profile: str
) -> dict[str, Any]:
    """A JSON-able record of stage results (refs as dicts) for :data:`RESULTS_FILE`."""
    return {
        "profile": profile,
        "not_run": dict(not_run),
        "stages": {
            name: {
                "synthetic": bool(r.get("synthetic")),
                "summary": r.get("summary") or {},
                "refs": {
                    k: ref.to_dict()
                    for k, ref in ((k, as_ref(v)) for k, v in (r.get("refs") or {}).items())
                    if ref is not None
                },
            }
            for name, r in stages.items()
        },
    }


@task(name="build-report", cache_policy=REPORT_CACHE, persist_result=True)
def build_report_task(
    stages: dict[str, dict[str, Any]],
    not_run: dict[str, str],
    cfg: ReportConfig,
    profile: str,
    data_dir: str,
    provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``reports/report.{html,md}`` and the run record; return refs + section Markdown.

    The cache key covers every stage's refs (by content fingerprint), the report config,
    the stages that did not run and this task's source (:data:`REPORT_CACHE`): an unchanged
    run re-uses the report without rendering.
    """
    report = build_study_report(stages, not_run, cfg, profile=profile, provenance=provenance)
    catalogue = Catalogue(data_dir)
    out = catalogue.layer_dir("reports")
    with stage_outputs(out, label="report") as staging:  # write_report joins it
        paths: dict[str, Path] = dict(write_report(report, out, cfg))
        paths["pipeline_results"] = staging.write_json(
            out / RESULTS_FILE, results_record(stages, not_run, profile)
        )
    refs = catalogue.register_many(paths)
    sections = {
        s.stage: render_markdown(s, synthetic=report.synthetic, link_base=out)
        for s in (*report.front, *report.sections)
    }
    summary = {
        "sections_run": [s.stage for s in report.sections if s.ran],
        "sections_not_run": {s.stage: s.reason for s in report.sections if not s.ran},
        "html_bytes": paths["report_html"].stat().st_size,
    }
    return {"refs": refs, "summary": summary, "sections": sections, "synthetic": report.synthetic}


#: front sections whose Markdown is the report artifact's headline (the UI shows Markdown)
HEADLINE_SECTIONS = ("questions", "models")


@task(name="publish-report", cache_policy=PUBLISH_CACHE, persist_result=True)
def publish_report(
    sections: dict[str, str], html: DatasetRef, profile: str, synthetic: bool
) -> list[str]:
    """One Markdown artifact per section and one with the headline (the research questions'
    answers, the model comparison) plus the HTML report's path: a browser
    cannot open a ``file://`` link from the UI, so the headline is shown in it instead.

    Keys are stable (``<profile>-run-report-<stage>``) so the UI shows their history.
    Cached on the sections and the HTML file's fingerprint: an unchanged re-run publishes
    nothing new.
    """
    note = " (synthetic sandbox data)" if synthetic else ""
    keys = []
    for stage, markdown in sections.items():
        key = artifact_key(profile, "run-report", stage)
        create_markdown_artifact(
            key=key, markdown=markdown, description=f"run report of {profile}: {stage}{note}"
        )
        keys.append(key)
    key = artifact_key(profile, "run-report-html")
    path = Path(html.path).resolve()
    headline = [sections[name] for name in HEADLINE_SECTIONS if name in sections]
    # the synthetic-data banner stays the first line, once
    headline[1:] = [text.removeprefix(SYNTHETIC_BANNER).lstrip() for text in headline[1:]]
    create_markdown_artifact(
        key=key,
        markdown="\n\n".join(
            [
                *headline,
                f"**The whole report** (self-contained HTML: figures, appendix): `{path}`",
            ]
        ),
        description=f"the run report of {profile}{note}: the answers and the models; "
        f"the whole report is {path.name} in the run folder",
    )
    keys.append(key)
    return keys
