"""Request-rate benchmark of the enrichment stage (``python -m benchmarks.bench_enrich``).

The tiny sandbox catalogue is enriched (Spotify search, Genius search + page, LRCLIB) against
the fake servers, each of which allows ``R`` requests per rolling ``W`` seconds (429 with
``Retry-After`` above that), like Spotify's "requests per rolling 30 s" rule scaled down in
time (default 60 requests / 3 s, the shape of the issue's 60 / 30 s).

Per service it reports the achieved rate against the allowed one. Under a rolling window a
perfect client needs ``T_min = (ceil(n / R) - 1) * W`` seconds between its first and its
last of ``n`` requests; the efficiency is ``T_min / T_actual`` (target >= 90 %), and the
achieved rate, the accepted requests in the ``k`` whole windows after the first request
divided by ``k * W``, is compared with ``R / W``. Two client set-ups: the per-host limiter
configured at the server's rate, and no limiter (the 429s pause the host). Then requests
per unique key, and the time of a re-run answered wholly from the per-key cache.

Writes ``benchmarks/results/enrich.json`` and ``enrich.md`` atomically.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from moodrec.config.base import Secrets
from moodrec.enrich.cache import EnrichCache, cache_path
from moodrec.enrich.clients import build_providers, with_base_urls
from moodrec.enrich.config import EnrichConfig
from moodrec.enrich.stage import run_enrichment
from moodrec.providers.config import (
    GeniusConfig,
    LrclibConfig,
    RateLimitConfig,
    RetryConfig,
    SpotifyConfig,
)
from moodrec.sandbox.config import SandboxConfig
from moodrec.sandbox.servers import (
    SANDBOX_GENIUS_TOKEN,
    SANDBOX_SPOTIFY_ID,
    SANDBOX_SPOTIFY_SECRET,
    FakeServers,
    ServerModes,
    WorldIndex,
    sandbox_secrets,
)
from moodrec.sandbox.world import generate_world
from moodrec.storage import write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)
RESULTS = Path(__file__).parent / "results"
SERVICES = ("spotify", "genius", "lrclib")


def _catalogue(truth: Path, out: Path, n_tracks: int | None) -> Path:
    tracks = pl.read_parquet(truth / "tracks.parquet")
    cat = tracks.select(
        "track_id", "track_mbid", "artist_id", "artist_name", pl.col("name").alias("track_name")
    )
    if n_tracks is not None:
        cat = cat.head(n_tracks)
    path = out / "tracks.parquet"
    cat.write_parquet(path)
    return path


def _config(limit: RateLimitConfig | None, workers: int) -> EnrichConfig:
    retry = RetryConfig(backoff_base_s=0.02, max_retry_after_s=30, max_rate_limited_attempts=50)
    return EnrichConfig(
        batch_size=1000,
        workers=workers,
        spotify=SpotifyConfig(retry=retry, rate_limit=limit),
        genius=GeniusConfig(retry=retry, rate_limit=limit),
        lrclib=LrclibConfig(retry=retry, rate_limit=limit),
    )


def _rates(servers: FakeServers, allowed: int, window_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for svc in SERVICES:
        times = sorted(servers.arrivals(svc))
        n_ok = servers.counts[svc] - servers.throttled[svc]
        if n_ok < 2 * allowed:  # too few requests to span a window: not measured
            out[svc] = {"requests": servers.counts[svc], "measured": False}
            continue
        span = times[-1] - times[0]
        # accepted requests in the whole windows from the first request on
        k = max(1, int(span // window_s))
        ok_times = sorted(set(times) - set(servers.throttle_times(svc)))
        in_windows = sum(1 for t in ok_times if t < ok_times[0] + k * window_s)
        t_min = (math.ceil(n_ok / allowed) - 1) * window_s
        out[svc] = {
            "measured": True,
            "requests": servers.counts[svc],
            "accepted": n_ok,
            "throttled_429": servers.throttled[svc],
            "span_s": round(span, 3),
            "ideal_span_s": round(t_min, 3),
            "efficiency": round(t_min / span, 4) if span > 0 else None,
            "full_windows": k,
            "achieved_rps": round(in_windows / (k * window_s), 3),
            "allowed_rps": round(allowed / window_s, 3),
        }
    return out


def bench(
    n_tracks: int | None = 120, allowed: int = 60, window_s: float = 3.0, workers: int = 4
) -> dict[str, Any]:
    """Run the three measurements; returns the results dict."""
    results: dict[str, Any] = {
        "server_limit": {"requests": allowed, "window_s": window_s},
        "workers": workers,
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_world(SandboxConfig(profile="tiny", seed=3), root / "world")
        index = WorldIndex.from_truth(root / "world" / "truth")
        catalogue = _catalogue(root / "world" / "truth", root, n_tracks)
        n_keys = pl.read_parquet(catalogue).height
        results["unique_keys"] = n_keys
        secrets: Secrets = sandbox_secrets()
        setups = {
            "limiter_at_server_rate": RateLimitConfig(
                requests=allowed, window_s=window_s, max_concurrency=workers, max_wait_s=60
            ),
            "no_limiter": None,
        }
        for name, limit in setups.items():
            modes = ServerModes(rate_limit=(allowed, window_s, window_s))
            with FakeServers(
                index,
                modes,
                spotify_credentials=(SANDBOX_SPOTIFY_ID, SANDBOX_SPOTIFY_SECRET),
                genius_token=SANDBOX_GENIUS_TOKEN,
            ) as servers:
                cfg = with_base_urls(
                    _config(limit, workers),
                    spotify=servers.url("spotify"),
                    genius=servers.url("genius"),
                    lrclib=servers.url("lrclib"),
                )
                out = root / name
                t0 = time.perf_counter()
                with EnrichCache(cache_path(out), cfg.cache) as cache:
                    res = run_enrichment(
                        catalogue, out, cfg, build_providers(cfg, secrets), cache=cache
                    )
                elapsed = time.perf_counter() - t0
                entry: dict[str, Any] = {
                    "elapsed_s": round(elapsed, 2),
                    "services": _rates(servers, allowed, window_s),
                    "requests_per_unique_key": {
                        svc: round(servers.counts[svc] / n_keys, 3) for svc in SERVICES
                    },
                    "errors": sum(c["error"] for c in res.coverage["coverage"].values()),
                }
                if name == "limiter_at_server_rate":
                    before = servers.counts
                    t0 = time.perf_counter()
                    with EnrichCache(cache_path(out), cfg.cache) as cache:
                        run_enrichment(
                            catalogue,
                            root / "rerun",
                            cfg,
                            build_providers(cfg, secrets),
                            cache=cache,
                        )
                    entry["cache_rerun_s"] = round(time.perf_counter() - t0, 3)
                    entry["cache_rerun_requests"] = sum(
                        servers.counts[s] - before[s] for s in SERVICES
                    )
                results[name] = entry
    return results


def _markdown(r: dict[str, Any]) -> str:
    lim = r["server_limit"]
    lines = [
        "# enrich benchmark",
        "",
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; tiny sandbox "
        f"catalogue, {r['unique_keys']} unique keys, {r['workers']} workers; every fake server "
        f"allows {lim['requests']} requests per rolling {lim['window_s']:g} s "
        "(429 + Retry-After above).",
        "",
        "| client | service | requests (429s) | achieved / allowed req/s | efficiency "
        "(target ≥ 90 %) | req / key |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("limiter_at_server_rate", "no_limiter"):
        e = r[name]
        for svc, s in e["services"].items():
            per_key = e["requests_per_unique_key"][svc]
            if not s["measured"]:
                lines.append(
                    f"| {name} | {svc} | {s['requests']} | (under 2 windows) | — | {per_key} |"
                )
                continue
            lines.append(
                f"| {name} | {svc} | {s['requests']} ({s['throttled_429']}) | "
                f"{s['achieved_rps']} / {s['allowed_rps']} | {100 * s['efficiency']:.1f} % | "
                f"{per_key} |"
            )
    e = r["limiter_at_server_rate"]
    lines += [
        "",
        f"- wall time with the limiter: {e['elapsed_s']} s; without: "
        f"{r['no_limiter']['elapsed_s']} s; keys left in error: {e['errors']} / "
        f"{r['no_limiter']['errors']}",
        f"- re-run answered from the per-key cache: {e['cache_rerun_s']} s, "
        f"{e['cache_rerun_requests']} HTTP requests",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=120)
    parser.add_argument("--allowed", type=int, default=60)
    parser.add_argument("--window", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    r = bench(args.tracks, args.allowed, args.window, args.workers)
    write_json_atomic(RESULTS / "enrich.json", r)
    write_text_atomic(RESULTS / "enrich.md", _markdown(r))


if __name__ == "__main__":
    main()
