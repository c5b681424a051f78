"""Level 0: the port side's environment manifest (the legacy side writes its own)."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-image", "protobuf", "pillow", "matplotlib")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name from ``cpuinfo`` (Linux), else what ``platform`` knows of the processor."""
    path = Path(cpuinfo)
    lines = path.read_text().splitlines() if path.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def port_manifest() -> dict:
    """Interpreter, platform, library versions and torch's threading and BLAS configuration."""
    from google.protobuf.internal import api_implementation

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "packages": {name: _version(name) for name in PACKAGES},
        "protobuf_backend": api_implementation.Type(),
        "torch_threads": torch.get_num_threads(),
        "torch_config": torch.__config__.show(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
    }


def file_digest(path: str | Path) -> dict:
    """Path, size and SHA-1 of an input file, for the record."""
    path = Path(path)
    sha1 = hashlib.sha1()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha1.update(chunk)
    return {"path": str(path), "bytes": path.stat().st_size, "sha1": sha1.hexdigest()}
