"""The data catalogue: named datasets → files under ``<data_dir>/<layer>/``.

Layers follow cookiecutter-data-science: ``raw`` (immutable inputs, the sandbox world),
``interim`` (canonical tables), ``features``, ``models``, ``reports``. Every dataset written
through the catalogue is fingerprinted and recorded in ``<data_dir>/manifest.json``; the
fingerprints are what Prefect cache keys are built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moodrec.errors import CatalogueError
from moodrec.storage import DatasetRef, Manifest, describe_file

LAYERS = ("raw", "interim", "features", "models", "reports")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a named dataset lives: its layer and its file name."""

    name: str
    layer: str
    filename: str


_SPECS: tuple[DatasetSpec, ...] = (
    DatasetSpec("events", "interim", "events.parquet"),
    DatasetSpec("tracks", "interim", "tracks.parquet"),
    DatasetSpec("artists", "interim", "artists.parquet"),
    DatasetSpec("users", "interim", "users.parquet"),
    DatasetSpec("plays", "interim", "plays.parquet"),
    DatasetSpec("sessions", "interim", "sessions.parquet"),
    DatasetSpec("rejects", "interim", "rejects.tsv"),
    DatasetSpec("ingest_summary", "reports", "ingest_summary.json"),
)
DATASETS: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}


class Catalogue:
    """Named datasets of one data folder (one per config profile)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir)
        self.manifest = Manifest(self.root)

    def layer_dir(self, layer: str) -> Path:
        if layer not in LAYERS:
            raise CatalogueError(f"unknown layer {layer!r} (allowed: {', '.join(LAYERS)})")
        return self.root / layer

    def spec(self, name: str) -> DatasetSpec:
        try:
            return DATASETS[name]
        except KeyError:
            known = ", ".join(sorted(DATASETS))
            raise CatalogueError(f"unknown dataset {name!r} (known: {known})") from None

    def path(self, name: str) -> Path:
        """The file a named dataset lives in (it may not exist yet)."""
        spec = self.spec(name)
        return self.layer_dir(spec.layer) / spec.filename

    def raw_dir(self, *parts: str) -> Path:
        """A folder under the immutable ``raw`` layer (e.g. a sandbox world)."""
        return self.layer_dir("raw").joinpath(*parts)

    def register(self, name: str, path: Path | str | None = None) -> DatasetRef:
        """Fingerprint a written dataset and record it in the manifest."""
        ref = describe_file(name, path if path is not None else self.path(name))
        self.manifest.record([ref])
        return ref

    def register_many(self, paths: dict[str, Path]) -> dict[str, DatasetRef]:
        """Fingerprint several datasets and record them with one manifest write."""
        refs = {name: describe_file(name, p) for name, p in paths.items()}
        self.manifest.record(list(refs.values()))
        return refs

    def ref(self, name: str) -> DatasetRef:
        """The recorded reference of a dataset; raises if missing or changed on disk."""
        ref = self.manifest.get(name)
        path = Path(ref.path)
        if not path.is_file():
            raise CatalogueError(f"dataset {name!r} is in the manifest but {path} is missing")
        return ref
