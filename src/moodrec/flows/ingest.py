"""``ingest_flow``: get the listening log (sandbox world or real files) and ingest it."""

from __future__ import annotations

from typing import Any

from prefect import flow

from moodrec.catalogue import Catalogue
from moodrec.config.schema import Settings, is_synthetic_source
from moodrec.errors import CatalogueError
from moodrec.flows.common import sandbox_world, stage_settings
from moodrec.ingest.listens import input_files
from moodrec.storage import DatasetRef
from moodrec.tasks.artifacts import publish_checkpoints
from moodrec.tasks.checkpoints import register_raw_input, run_checkpoint_task
from moodrec.tasks.ingest import ingest_listening_log, ingest_sources_task


@flow(name="ingest", log_prints=False)
def ingest_flow(profile: str = "demo", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ingest stage: log(s) → events, tracks, artists, users, plays, sessions (+ rejects).

    ``ingest.source`` ``sandbox`` reads the generated world; ``lastfm1k``, ``scrobbles``,
    ``hetrec`` and ``listens`` read real files (:mod:`moodrec.ingest.listens`: formats
    detected, one catalogue across datasets, exact duplicates dropped and counted).

    Parameters
    ----------
    profile
        Config profile name (``config/<profile>.yaml``) or path.
    overrides
        Nested setting overrides, e.g. ``{"sandbox": {"seed": 7}}`` (never secrets).
    """
    settings, data_dir = stage_settings(profile, overrides)
    synthetic = is_synthetic_source(settings)
    if synthetic:
        world = sandbox_world(settings, data_dir)
        result = run_checkpoint_task(
            ingest_listening_log,
            world["sandbox_log"],
            world["sandbox_profile"],
            settings.ingest,
            data_dir,
            data_dir=data_dir,
        )
    else:
        raw = {
            name: register_raw_input(name, str(path), data_dir)
            for name, path in input_files(settings.ingest).items()
        }
        result = run_checkpoint_task(
            ingest_sources_task, raw, settings.ingest, data_dir, data_dir=data_dir
        )
    publish_checkpoints("ingest", result["refs"], result["summary"], settings.profile, synthetic)
    return {"data_dir": data_dir, "synthetic": synthetic, **result}


def ingest_outputs(
    profile: str,
    settings: Settings,
    data_dir: str,
    overrides: dict[str, Any] | None,
    names: tuple[str, ...],
    stage: str,
) -> dict[str, DatasetRef]:
    """The ingest checkpoints ``names`` a stage reads.

    With ``ingest`` in ``orchestration.skip`` the tables already in the data folder are
    used as they are (whoever wrote them: ``moodrec ingest scrobbles``, an earlier run) and
    the ingest is never run again, so nothing of them is overwritten. Otherwise the
    ingest flow runs first (a cache hit when nothing changed).

    Raises
    ------
    CatalogueError
        Naming the stage, the missing tables and the folder, when ingest is skipped and
        they are not there (or changed since they were recorded).
    """
    if settings.orchestration.runs("ingest"):
        # the profile as given (a name or a YAML path), not settings.profile (its name only)
        refs = ingest_flow(profile, overrides)["refs"]
        missing = [n for n in names if n not in refs]
        if not missing:
            return {n: refs[n] for n in names}
    else:
        catalogue = Catalogue(data_dir)
        found: dict[str, DatasetRef] = {}
        missing = []
        for name in names:
            try:
                found[name] = catalogue.ref(name)
            except CatalogueError:
                missing.append(name)
        if not missing:
            return found
    raise CatalogueError(
        f"{stage}: needs the ingest tables {', '.join(names)}; missing in {data_dir}: "
        f"{', '.join(missing)}. "
        + (
            "ingest is in orchestration.skip, so nothing re-creates them: ingest first "
            "(`moodrec ingest ...` into this data folder, or drop 'ingest' from "
            "orchestration.skip)"
            if not settings.orchestration.runs("ingest")
            else f"the ingest of source {settings.ingest.source!r} does not write them"
        )
    )
