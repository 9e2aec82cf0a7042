"""The report's provenance block: which code, configuration and input files made it, and
when (the same facts as ``manifest.json``'s ``provenance`` entry)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from moodrec.report.build import Section
from moodrec.report.study_format import fmt, table_block


def _flat(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        out.append((prefix, ", ".join(fmt(v) for v in value) or "(none)"))
    else:
        out.append((prefix, fmt(value)))


def provenance_section(provenance: Mapping[str, Any]) -> Section:
    """Which code, configuration and input files made this report, and when."""
    if not provenance:
        return Section(
            stage="provenance",
            title="How this report was made",
            intro="",
            ran=False,
            reason="no provenance recorded",
        )
    facts = [
        ("moodrec version", provenance.get("moodrec_version")),
        ("git commit", provenance.get("git_commit") or "not a git checkout"),
        ("profile", provenance.get("profile")),
        ("run id", provenance.get("run_id")),
        ("seed", provenance.get("seed")),
        ("config fingerprint", provenance.get("config_fingerprint")),
        ("data folder", provenance.get("data_dir")),
        ("started", provenance.get("started")),
        ("finished", provenance.get("finished")),
    ]
    inputs = pd.DataFrame(
        [
            {
                "input": i.get("name"),
                "file": i.get("path"),
                "fingerprint": str(i.get("fingerprint", ""))[:16],
                "rows": i.get("rows"),
            }
            for i in provenance.get("inputs", [])
        ],
        columns=["input", "file", "fingerprint", "rows"],
    )
    config: list[tuple[str, str]] = []
    _flat("", provenance.get("config", {}), config)
    blocks = [
        table_block("Run", pd.DataFrame([(k, fmt(v)) for k, v in facts], columns=["", "value"])),
        table_block("Input files", inputs, note="fingerprint: blake2b-128 of the file's bytes"),
        table_block(
            "Effective configuration (secrets masked)",
            pd.DataFrame(config, columns=["setting", "value"]),
            folded=True,
        ),
    ]
    return Section(
        stage="provenance",
        title="How this report was made",
        intro="The code, configuration and input files behind every number above.",
        ran=True,
        blocks=tuple(blocks),
    )
