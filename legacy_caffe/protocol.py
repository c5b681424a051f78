"""The contract between a host and ``python -m legacy_caffe``: file names and exit codes.

Import-free and Python 2.7-compatible: the legacy runner and the modern
``parity.stacks`` both import it, so neither side spells these twice.
"""

RESULT_FILE = "result.npz"
MANIFEST_FILE = "manifest.json"

EXIT_OK = 0
EXIT_JOB_FAILED = 1
"""The job could not run as asked or raised; stderr says why."""
EXIT_USAGE = 2
"""The runner was called with the wrong arguments."""
EXIT_NO_CAFFE = 3
"""``import caffe`` failed in this interpreter: the stack, not the job, is broken."""

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables the host sets to pin BLAS threads; the manifest records them."""

CORE_VARIABLE = "OPENBLAS_CORETYPE"
"""Environment variable the host sets to pin OpenBLAS's kernel; the manifest records it and the kernel run."""
