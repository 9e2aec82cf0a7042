"""Native thread pools (OpenMP, BLAS) of the pipeline's process, kept to a set size.

The pipeline gets its parallelism from the task runner (concurrent sweep chunks, enrichment
workers, Dask). If every scikit-learn, OpenBLAS and torch call also starts one OpenMP thread
per core, the threads oversubscribe the cores, and OpenMP's busy-waiting turns that into
lost time: on the 2-core reference machine a 150-point t-SNE took 26 s with two OpenMP
threads beside other work and 0.5 s with one (see ``docs/orchestration.md``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

logger = logging.getLogger(__name__)

#: read by OpenMP, OpenBLAS, MKL and torch when they are first loaded
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def limit_native_threads(n: int | None) -> Iterator[None]:
    """Run the body with at most ``n`` threads per native thread pool; ``None`` changes nothing.

    Libraries already loaded are limited through ``threadpoolctl`` (and get their sizes back
    on exit); those first loaded inside the body read the environment variables of
    :data:`THREAD_ENV_VARS` (restored on exit) and keep that size. An explicit
    ``OMP_NUM_THREADS`` in the environment wins over ``n``.
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

    saved = {k: os.environ.get(k) for k in THREAD_ENV_VARS}
    for key in THREAD_ENV_VARS:
        os.environ.setdefault(key, str(n))
    limit = int(os.environ["OMP_NUM_THREADS"]) if saved["OMP_NUM_THREADS"] else n
    logger.debug("native thread pools limited to %d thread(s)", limit)
    try:
        with threadpool_limits(limits=limit):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
