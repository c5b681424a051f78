"""The legacy environments: where a real Caffe runs, and how the host reaches it.

* :mod:`~parity.stacks.legacy`: one interface over every stack (``chroot``, ``py27``, the Docker
  images, a local interpreter): jobs, long-lived workers, pinned BLAS kernel and threads;
* :mod:`~parity.stacks.provision`, :mod:`~parity.stacks.provision_py27`: making the Debian roots
  (the py27 recipe itself is data, ``parity/recipes/``);
* :mod:`~parity.stacks.docker_engine`, :mod:`~parity.stacks.docker_client`: the private engine and
  its images;
* :mod:`~parity.stacks.host`, :mod:`~parity.stacks.environment`: facts of this machine and of the
  port's side (package versions, CPU, file digests);
* :mod:`~parity.stacks.results`: read access to what a legacy ``layers`` job wrote.

Nothing here judges a difference: environments import no judge, engine, comparison or report.
"""

from parity.stacks.legacy import (
    DEFAULT_BLAS_CORE,
    DEFAULT_TIMEOUT,
    DOCKER_STACKS,
    FALLBACK_BLAS_CORE,
    STACK_PYTHONS,
    ChrootStack,
    DockerStack,
    JobResult,
    LegacyJobError,
    LegacyStack,
    LegacyStackError,
    LegacyTimeoutError,
    LegacyWorker,
    LocalStack,
    cache_folder,
    copy_legacy_caffe,
    default_blas_core,
    default_root,
    get_stack,
    other_blas_core,
)

__all__ = [
    "DEFAULT_BLAS_CORE",
    "DEFAULT_TIMEOUT",
    "DOCKER_STACKS",
    "FALLBACK_BLAS_CORE",
    "STACK_PYTHONS",
    "ChrootStack",
    "DockerStack",
    "JobResult",
    "LegacyJobError",
    "LegacyStack",
    "LegacyStackError",
    "LegacyTimeoutError",
    "LegacyWorker",
    "LocalStack",
    "cache_folder",
    "copy_legacy_caffe",
    "default_blas_core",
    "default_root",
    "get_stack",
    "other_blas_core",
]
