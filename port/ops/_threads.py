"""The batch of a compiled CPU kernel split over threads: consecutive images per thread, one thread per
torch intra-op thread.

Kernels compiled with ``nogil=True`` run their images without the GIL; the
threads are kept between calls (with them, any per-thread scratch memory a
kernel keeps), one pool per thread count.  How a batch is split never
changes a result: each image is computed on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="port-ops")


def batch_parts(n: int) -> list[slice]:
    """``range(n)`` cut into at most ``torch.get_num_threads()`` runs of consecutive images, as even as can be."""
    parts = max(1, min(n, torch.get_num_threads()))
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def over_batch(run: Callable[[slice], None], n: int) -> None:
    """Call ``run(part)`` for each of :func:`batch_parts` ``(n)``, the parts on threads of their own."""
    parts = batch_parts(n)
    if len(parts) > 1:
        list(_pool(len(parts)).map(run, parts))
    else:
        for part in parts:
            run(part)
