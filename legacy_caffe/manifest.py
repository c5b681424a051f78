"""The environment manifest of a legacy interpreter: every version that can move a number.

Runs inside the legacy interpreter (Python 2.7 or 3.9); stdlib, numpy and
whatever is importable there.  Nothing here starts a process: the BLAS is
inspected through ``ctypes`` in this very process (the library Caffe
linked), and Debian package versions come from parsing the dpkg status file.
"""

from __future__ import absolute_import, division, print_function

import ctypes
import importlib
import multiprocessing
import os
import platform
import sys

DPKG_STATUS = "/var/lib/dpkg/status"

_MODULES = (
    ("numpy", ("__version__",)),
    ("scipy", ("__version__",)),
    ("skimage", ("__version__",)),
    ("PIL", ("__version__", "PILLOW_VERSION")),
    ("google.protobuf", ("__version__",)),
)

_BLAS_SONAMES = ("libblas.so.3", "libcblas.so.3", "libopenblas.so.0", "libmkl_rt.so")
_OPENBLAS_SONAME = "libopenblas.so.0"
# Python 2 lacks os.RTLD_*; the fallbacks are glibc's values.
_RTLD_NOLOAD = getattr(os, "RTLD_NOLOAD", 4)
_RTLD_LAZY = getattr(os, "RTLD_LAZY", 1)
_RTLD_DI_LINKMAP = 2

_LIBRARY_NAMES = ("caffe", "numpy", "scipy", "skimage", "pil", "protobuf")
_DEBIAN_PREFIXES = tuple(
    ["caffe", "libcaffe", "libopenblas", "libblas", "libprotobuf", "libc6"]
    + ["python-" + name for name in _LIBRARY_NAMES]
    + ["python3-" + name for name in _LIBRARY_NAMES]
)


def environment(caffe):
    """Return the manifest of this interpreter, given the imported ``caffe`` module."""
    versions = {"caffe": getattr(caffe, "__version__", None)}
    for name, attributes in _MODULES:
        versions[name] = _module_version(name, attributes)
    return {
        "python": platform.python_version(),
        "python_build": sys.version,
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": multiprocessing.cpu_count(),
        "versions": versions,
        "protobuf_implementation": _protobuf_implementation(),
        "blas": blas(),
        "debian_packages": debian_packages(),
    }


def _module_version(name, attributes):
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    for attribute in attributes:
        if hasattr(module, attribute):
            return str(getattr(module, attribute))
    return "unknown"


def _protobuf_implementation():
    try:
        from google.protobuf.internal import api_implementation
    except ImportError:
        return None
    return api_implementation.Type()


class _LinkMap(ctypes.Structure):
    """The leading fields of glibc's ``struct link_map``."""

    _fields_ = [("l_addr", ctypes.c_size_t), ("l_name", ctypes.c_char_p)]


def _loaded(soname):
    """Return a handle to ``soname`` if this process already loaded it, else None."""
    try:
        return ctypes.CDLL(soname, mode=_RTLD_NOLOAD | _RTLD_LAZY)
    except OSError:
        return None


def _path_of(library):
    """Return the file a loaded library was mapped from (glibc ``dlinfo``)."""
    link_map = ctypes.POINTER(_LinkMap)()
    libdl = ctypes.CDLL("libdl.so.2")
    if libdl.dlinfo(ctypes.c_void_p(library._handle), _RTLD_DI_LINKMAP, ctypes.byref(link_map)):
        return None
    return _text(link_map.contents.l_name)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def blas():
    """Describe the BLAS libraries loaded in this process and OpenBLAS's own settings.

    ``libraries`` maps each loaded BLAS soname to the path it was loaded from
    and that path with every link resolved (e.g. through
    ``/etc/alternatives`` to ``openblas-pthread``).  ``openblas`` holds what
    OpenBLAS reports about itself: build configuration, the CPU kernel it
    chose (``corename``, which decides rounding), its thread count and
    threading model; or a ``note`` saying why it could not be asked.
    """
    libraries = {}
    for soname in _BLAS_SONAMES:
        library = _loaded(soname)
        if library is not None:
            path = _path_of(library)
            libraries[soname] = {"path": path, "resolved": path and os.path.realpath(path)}
    return {"libraries": libraries, "openblas": _openblas()}


def _openblas():
    library = _loaded(_OPENBLAS_SONAME)
    if library is None:
        return {"note": "%s is not loaded in this process; Caffe links another BLAS" % _OPENBLAS_SONAME}
    library.openblas_get_config.restype = ctypes.c_char_p
    library.openblas_get_corename.restype = ctypes.c_char_p
    return {
        "config": _text(library.openblas_get_config()),
        "corename": _text(library.openblas_get_corename()),
        "num_threads": library.openblas_get_num_threads(),
        "parallel": {0: "sequential", 1: "pthreads", 2: "openmp"}.get(library.openblas_get_parallel(), "unknown"),
    }


def debian_packages(status_file=DPKG_STATUS):
    """Return ``{package: version}`` of the installed packages that bear on the numerics.

    Those are Caffe's, the BLAS, protobuf, glibc (its libm) and the Python
    libraries the legacy code imports.  Empty when there is no dpkg database.
    """
    if not os.path.exists(status_file):
        return {}
    with open(status_file, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    versions = {}
    for paragraph in text.split("\n\n"):
        fields = _control_fields(paragraph)
        package = fields.get("Package", "")
        if fields.get("Status") == "install ok installed" and package.startswith(_DEBIAN_PREFIXES):
            versions[package] = fields.get("Version")
    return versions


def _control_fields(paragraph):
    fields = {}
    for line in paragraph.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields
