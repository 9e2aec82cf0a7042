"""Prefect tasks for the data sets a user brings besides the 1K log: HetRec, scrobble exports,
downloads of the public data sets, and the dataset profile report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from moodrec.catalogue import Catalogue
from moodrec.errors import InputDataError
from moodrec.ingest.config import IngestConfig
from moodrec.ingest.download import DownloadConfig, DownloadError, download_dataset
from moodrec.ingest.hetrec import FRIENDS, ingest_hetrec
from moodrec.ingest.listens import ingest_sources
from moodrec.ingest.profile import ProfileReportConfig, write_profile_report
from moodrec.report.checkpoints import summary_rows
from moodrec.storage import DatasetRef, fingerprint_file, stage_outputs
from moodrec.tasks.artifacts import artifact_key
from moodrec.tasks.cache_policy import CHECKPOINT_CACHE

#: HetRec raw files, registered as ``hetrec_<stem>`` (``user_friends.dat`` is optional)
HETREC_FILES = (
    "user_artists.dat",
    "artists.dat",
    "tags.dat",
    "user_taggedartists.dat",
    FRIENDS,
)
#: where the HetRec tables go, below the ``interim`` layer (kept apart from the 1K tables:
#: HetRec has no events, so mixing them would pair HetRec plays with stale 1K events)
HETREC_SUBDIR = "hetrec"
PROFILE_SUBDIR = "profile"
#: ``interim/ingest_source.json``: which non-sandbox ingest wrote the interim tables
SOURCE_RECORD = "ingest_source.json"


@task(name="register-hetrec-folder")
def register_hetrec_folder(folder: str, data_dir: str) -> dict[str, DatasetRef]:
    """Fingerprint the HetRec ``.dat`` files (never modified) and record them."""
    root = Path(folder)
    if not root.is_dir():
        raise InputDataError(f"HetRec folder {root} does not exist")
    paths = {
        f"hetrec_{Path(name).stem}": root / name
        for name in HETREC_FILES
        if name != FRIENDS or (root / name).exists()
    }
    return Catalogue(data_dir).register_many(paths)


@task(name="ingest-hetrec", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def ingest_hetrec_checkpoint(
    raw: dict[str, DatasetRef], cfg: IngestConfig, data_dir: str
) -> dict[str, Any]:
    """Ingest the registered HetRec files into ``interim/hetrec/`` and register the tables.

    Returns ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    logger = get_run_logger()
    catalogue = Catalogue(data_dir)
    folder = Path(raw["hetrec_user_artists"].path).parent
    result = ingest_hetrec(folder, catalogue.layer_dir("interim") / HETREC_SUBDIR, cfg)
    if result.missing_tagged_artists:
        logger.warning(
            "%d tagged artists are missing from artists.dat; kept (see %s)",
            len(result.missing_tagged_artists),
            result.outputs["hetrec_report"],
        )
    refs = catalogue.register_many(
        {k if k.startswith("hetrec") else f"hetrec_{k}": v for k, v in result.outputs.items()}
    )
    summary = {k: v for k, v in result.report.items() if k != "missing_artists"}
    summary["missing_artists"] = result.report["missing_artists"]["count"]
    logger.info(
        "HetRec: %d plays rows, %d users, %d artists, %d tags",
        result.n_plays,
        result.n_users,
        result.n_artists,
        result.n_tags,
    )
    return {"refs": refs, "summary": summary}


@task(name="ingest-scrobbles", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def ingest_scrobbles_checkpoint(
    export: DatasetRef, user: str | None, cfg: IngestConfig, data_dir: str
) -> dict[str, Any]:
    """Ingest a scrobble export into the canonical ``interim/`` tables (as the 1K ingest).

    Returns ``{"refs": {name: DatasetRef}, "summary": dict}``.
    """
    logger = get_run_logger()
    catalogue = Catalogue(data_dir)
    # any exporter's layout (moodrec.ingest.exports), read as the pipeline's scrobbles source
    one = cfg.model_copy(
        update={"source": "scrobbles", "log_path": Path(export.path), "user": user, "paths": []}
    )
    with stage_outputs(catalogue.root, label="ingest") as staging:  # tables + records
        result = ingest_sources(one, catalogue.layer_dir("interim"))
        summary_path = staging.write_json(catalogue.path("ingest_summary"), result.summary)
        # provenance of the interim tables: the profile must not call real scrobbles
        # synthetic just because the settings profile's ingest source is the sandbox
        source_path = staging.write_json(
            catalogue.layer_dir("interim") / SOURCE_RECORD,
            {
                "source": "scrobbles",
                "file": export.path,
                "user": user,
                "events_fingerprint": fingerprint_file(staging.path(result.outputs["events"])),
            },
        )
    if result.summary.get("rejected"):
        logger.warning(
            "%d of %d rows rejected; see %s",
            result.summary["rejected"],
            result.summary["lines"],
            result.outputs["rejects"],
        )
    refs = catalogue.register_many(
        {**result.outputs, "ingest_summary": summary_path, "ingest_source": source_path}
    )
    logger.info(
        "ingested %d scrobbles (%d tracks, %d duplicates dropped)",
        result.summary["events"],
        result.summary["tracks"],
        result.summary["duplicates_dropped"],
    )
    return {"refs": refs, "summary": result.summary}


def _retry_if_retryable(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry only dropped connections and 408/429/5xx answers, never a bad checksum."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, DownloadError) and exc.retryable


@task(
    name="download-dataset",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=_retry_if_retryable,
)
def download_dataset_task(name: str, cfg: DownloadConfig, to: str | None) -> dict[str, Any]:
    """Download, verify and unpack one public data set (a no-op when already valid)."""
    logger = get_run_logger()
    res = download_dataset(name, cfg, to=Path(to) if to else None)
    logger.info(
        "%s: %s in %s (sha256 %s)",
        name,
        "already present" if res.skipped else f"{len(res.files)} files unpacked",
        res.folder,
        res.sha256,
    )
    return {
        "name": name,
        "folder": str(res.folder),
        "sha256": res.sha256,
        "skipped": res.skipped,
        "files": res.files,
    }


@task(name="profile-datasets", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def profile_checkpoint(
    datasets: dict[str, str],
    fingerprints: dict[str, str],
    cfg: ProfileReportConfig,
    data_dir: str,
    synthetic: bool,
) -> dict[str, Any]:
    """Write the dataset profile report into ``reports/profile/`` and register it.

    ``fingerprints`` (name → fingerprint of the folder's tables) is only part of the cache
    key, so a changed table re-runs the profile. Returns ``{"refs", "summary"}``.
    """
    catalogue = Catalogue(data_dir)
    out_dir = catalogue.layer_dir("reports") / PROFILE_SUBDIR
    report, summary = write_profile_report(
        {k: Path(v) for k, v in datasets.items()}, out_dir, cfg, synthetic=synthetic
    )
    paths = {"profile_report": report}
    for name, entry in summary.items():
        for key, png in entry["figures"].items():
            paths[f"profile_{name}_{key}"] = Path(png)
    refs = catalogue.register_many(paths)
    get_run_logger().info("dataset profile written to %s", report)
    return {"refs": refs, "summary": summary}


@task(name="publish-profile", cache_policy=CHECKPOINT_CACHE, persist_result=True)
def publish_profile(report: str, summary: dict[str, Any], profile: str, synthetic: bool) -> None:
    """Publish the profile Markdown and one numbers table per data set as artifacts.

    Cached on the summary (the numbers the report shows) and the report's path: an unchanged
    re-run adds no new artifact versions.
    """
    note = " (synthetic sandbox data)" if synthetic else ""
    create_markdown_artifact(
        key=artifact_key(profile, "profile", "report"),
        markdown=Path(report).read_text(encoding="utf-8"),
        description=f"dataset profile of profile {profile}{note}; PNGs beside {report}",
    )
    for name, entry in summary.items():
        create_table_artifact(
            key=artifact_key(profile, "profile", name),
            table=summary_rows({"stats": entry["stats"], "demographics": entry["demographics"]}),
            description=f"dataset profile numbers of {name}{note}",
        )
