"""Provision the py27 legacy stack: Python 2.7 with the thesis's pins and pycaffe for 2.7.

:func:`setup_py27` builds a Debian bullseye root (:func:`parity.stacks.provision.bootstrap`)
and runs the recipe ``parity/recipes/py27.sh`` in it with ``chroot``; a Docker
image runs the same recipe.  The host fills the recipe's wheelhouse with its
own pip (:func:`fill_wheelhouse`): inside the root nothing reaches a Python
package index.  The wheelhouse and the Debian source packages the recipe
compiles pycaffe from are cached in :func:`parity.stacks.cache_folder`, so
a rebuild downloads nothing from PyPI.  The stamp records the recipe's SHA-1:
a changed recipe rebuilds the root.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

from parity.stacks.legacy import STACK_PYTHONS, ChrootStack, cache_folder, default_root
from parity.stacks.provision import Log, bootstrap, provision_root, run_step, tool, verify

__all__ = ["RECIPE", "RECIPE_DIR", "fill_wheelhouse", "recipe_digest", "setup_py27"]

RECIPE_DIR = Path(__file__).resolve().parent.parent / "recipes"
RECIPE = RECIPE_DIR / "py27.sh"
REQUIREMENTS = (RECIPE_DIR / "py27-requirements.txt", RECIPE_DIR / "py27-build-requirements.txt")
WHEEL_PLATFORMS = ("manylinux1_x86_64", "manylinux2010_x86_64", "manylinux2014_x86_64", "any")
"""Wheel tags the root's pip 20.3.4 on bullseye's glibc 2.31 accepts (cp27mu, or none for pure Python)."""

_WHEELHOUSE_STAMP = ".mfv-requirements.sha1"
_PHASE = re.compile(r"^\[py27\] (.+)$", re.MULTILINE)
_INSIDE = {"recipe": "/tmp/mfv-recipe", "wheelhouse": "/tmp/mfv-wheelhouse", "sources": "/tmp/mfv-sources"}


def recipe_digest() -> str:
    """SHA-1 over the recipe and its requirement lists: what the root's stamp records."""
    digest = hashlib.sha1()
    for path in (RECIPE, *REQUIREMENTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def setup_py27(
    root: Path | None = None,
    *,
    mirror: str | None = None,
    force: bool = False,
    cache: Path | None = None,
    log: Log = print,
) -> Path:
    """Make sure a complete py27 root exists at ``root`` (default ``default_root("py27")``); return it.

    ``cache`` (default :func:`cache_folder`) keeps the wheelhouse
    (``py27-wheelhouse``) and the Debian source packages (``debian-sources``).
    Needs root, the host's pip with access to a Python package index the
    first time and a Debian mirror.  Raises :class:`LegacyStackError` naming
    the failed step (a recipe step as ``recipe: STEP``).
    """
    cache = Path(cache) if cache is not None else cache_folder()

    def build(target: Path, mirror: str | None) -> None:
        bootstrap(target, mirror, log)
        wheelhouse = fill_wheelhouse(cache / "py27-wheelhouse", log)
        sources = cache / "debian-sources"
        sources.mkdir(parents=True, exist_ok=True)
        inside = {name: target / path.lstrip("/") for name, path in _INSIDE.items()}
        shutil.copytree(RECIPE_DIR, inside["recipe"])
        shutil.copytree(wheelhouse, inside["wheelhouse"])
        shutil.copytree(sources, inside["sources"])
        command = [tool("chroot"), str(target), "/bin/sh", f"{_INSIDE['recipe']}/{RECIPE.name}"]
        run_step("recipe", command + [_INSIDE["wheelhouse"], _INSIDE["sources"]], log, phase=_PHASE)
        shutil.copytree(inside["sources"], sources, dirs_exist_ok=True)
        for path in inside.values():
            shutil.rmtree(path)
        verify(ChrootStack(target, python=STACK_PYTHONS["py27"]), log)

    wanted = {"stack": "py27", "recipe_sha1": recipe_digest()}
    return provision_root(
        Path(root) if root is not None else default_root("py27"), wanted, build, mirror=mirror, force=force, log=log
    )


def fill_wheelhouse(wheelhouse: Path, log: Log) -> Path:
    """Download every file the requirement lists pin into ``wheelhouse`` with the host's pip; return it.

    ``pip download --no-deps --prefer-binary`` for CPython 2.7 (cp27mu) on
    :data:`WHEEL_PLATFORMS`: wheels where PyPI has them, the sdist of the few
    pure-Python packages that have none (networkx 2.1, simplegeneric 0.8.1,
    scandir 1.10.0; the recipe builds them offline with the root's
    setuptools).  Skipped when the wheelhouse's stamp has the lists' SHA-1.
    A site-wide pip constraints file is ignored: the lists pin every version.
    """
    digest = hashlib.sha1(b"".join(path.read_bytes() for path in REQUIREMENTS)).hexdigest()
    stamp = wheelhouse / _WHEELHOUSE_STAMP
    if stamp.exists() and stamp.read_text() == digest:
        return wheelhouse
    wheelhouse.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--prefer-binary", "--dest", str(wheelhouse)]
    command += ["--python-version", "2.7", "--implementation", "cp", "--abi", "cp27mu", "--abi", "none"]
    for platform in WHEEL_PLATFORMS:
        command += ["--platform", platform]
    for path in REQUIREMENTS:
        command += ["--requirement", str(path)]
    passed = {name: value for name, value in os.environ.items() if name.startswith("PIP_")}
    run_step("wheelhouse", command, log, env=passed | {"PIP_CONSTRAINT": ""})
    stamp.write_text(digest)
    return wheelhouse
