"""The ablation on HetRec through the pipeline's own stages: CF vs CF + artist tags.

``moodrec ingest hetrec`` → content stage (HetRec tags, artist level) → ablation stage with
content from stage outputs (``moodrec.features.stage_content``), under a temporary Prefect
API. Writes ``benchmarks/results/hetrec_tag_ablation.md`` (the ablation's own Markdown).

Caveat: HetRec tags were given by the same users whose plays are split; a held-out (cold)
artist's tags can come from its test listeners, so the cold-slice gain is an upper bound.

Run: ``PYTHONPATH=src python -m benchmarks.bench_hetrec_tag_ablation``
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
HETREC = DATA / "hetrec2011_lastfm_2k"
OUT = ROOT / "benchmarks" / "results" / "hetrec_tag_ablation.md"


def main() -> None:
    os.environ.setdefault("MOODREC_CONFIG_DIR", str(ROOT / "config"))
    from prefect.testing.utilities import prefect_test_harness

    from moodrec.flows.ablation import ablation_flow
    from moodrec.flows.content import content_flow
    from moodrec.flows.datasets import hetrec_ingest_flow

    tmp = tempfile.mkdtemp(prefix="hetrec-ablation-")
    log = DATA / "lastfm_1k" / "userid-timestamp-artid-artname-traid-traname.head5000.tsv"
    overrides = {
        "paths": {"data_dir": tmp},
        "ingest": {"log_path": str(log), "profile_path": None},
        "content": {"sources": [{"name": "tags", "kind": "hetrec_tags", "path": str(HETREC)}]},
        "recommend": {
            "deep": {
                "ablation": {
                    "variants": {"none": [], "tags": ["genre"]},
                    "content_models": [],
                    "reference_models": ["ials"],
                    "spaces": {"ials": {"reg": [30.0]}},
                    "n_bootstrap": 1000,
                    "min_item_users": 5,
                    "plot": False,
                }
            }
        },
    }
    with prefect_test_harness():
        hetrec_ingest_flow(str(HETREC), profile="lastfm1k", overrides=overrides)
        content_flow(profile="lastfm1k", overrides=overrides)
        result = ablation_flow(profile="lastfm1k", overrides=overrides)
    md = Path(result["refs"]["ablation_md"].path).read_text()
    OUT.write_text(
        "<!-- PYTHONPATH=src python -m benchmarks.bench_hetrec_tag_ablation -->\n"
        "HetRec 2011 (1,892 users, artists with ≥ 5 listeners), content = HetRec artist tags "
        "linked by the content stage (multi-hot of the 64 most frequent tags). Tags were given "
        "by the same users whose plays are split, so the cold-slice gain is an upper bound.\n\n"
        + md
    )
    print(md)


if __name__ == "__main__":
    main()
