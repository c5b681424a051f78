"""Provision the chroot legacy stack: a Debian bullseye root with Debian's pycaffe.

:func:`setup_chroot` builds the root with ``debootstrap`` and ``apt-get``
(as root, with network access to a Debian mirror the first time: the one
given, else ``$MFV_DEBIAN_MIRROR``, else debootstrap's and apt's own
default), in
``ROOT.partial``, and renames it into place once ``import caffe`` works in
it.  A stamp file in the root records what was installed; a root whose
stamp matches is reused at once, any other is rebuilt.  Concurrent callers
serialise on ``ROOT.lock``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from parity.stacks.legacy import (
    CLEAN_PATH,
    NEEDS_ROOT,
    ChrootStack,
    LegacyStack,
    LegacyStackError,
    default_root,
    run_captured,
    system_tool,
    tail,
)

__all__ = [
    "PACKAGES",
    "SUITE",
    "bootstrap",
    "default_root",
    "environment",
    "host_tool",
    "provision_root",
    "read_stamp",
    "remove_tree",
    "run_step",
    "setup_chroot",
    "tool",
    "verify",
]

SUITE = "bullseye"
PACKAGES = ("python3-caffe", "python3-scipy", "python3-skimage", "python3-pil", "libopenblas0-pthread")
DEFAULT_SOURCE = "debootstrap's default Debian mirror"
STAMP_FILE = ".mfv-legacy-stamp.json"

_NETWORK_FAILURES = (
    "Failed getting release file",
    "Couldn't download",
    "unable to resolve host",
    "Temporary failure resolving",
    "Could not resolve",
    "Failed to fetch",
)
_PASSED_ON = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")

Log = Callable[[str], Any]


def environment(stack: LegacyStack, threads: int = 1) -> dict[str, Any]:
    """Run the ``environment`` job on ``stack`` with ``threads`` BLAS threads and return its manifest."""
    return stack.run("environment", threads=threads).manifest


def setup_chroot(root: Path | None = None, *, mirror: str | None = None, force: bool = False, log: Log = print) -> Path:
    """Make sure a complete legacy root exists at ``root`` (default :func:`default_root`); return it.

    ``mirror`` defaults to ``$MFV_DEBIAN_MIRROR``, then to none: debootstrap
    and apt then use their own default mirror;
    ``force`` rebuilds a complete root too.  Needs root; installs debootstrap
    with apt-get when it is missing.  Raises :class:`LegacyStackError` naming
    the failed step, with the tail of its output.
    """
    wanted = {"suite": SUITE, "packages": list(PACKAGES)}
    return provision_root(
        Path(root) if root is not None else default_root(),
        wanted,
        lambda target, source: _build(target, source, log),
        mirror=mirror,
        force=force,
        log=log,
    )


def provision_root(
    root: Path,
    wanted: dict[str, Any],
    build: Callable[[Path, str | None], None],
    *,
    mirror: str | None,
    force: bool,
    log: Log,
) -> Path:
    """Build a root with ``build(partial, mirror)`` unless ``root``'s stamp already records ``wanted``.

    The root is built in ``ROOT.partial`` and renamed into place once
    ``build`` returned (it verifies its root); the stamp records ``wanted``,
    the mirror and the time.  Callers serialise on ``ROOT.lock``; ``mirror``
    defaults to ``$MFV_DEBIAN_MIRROR``, else none (debootstrap's and apt's own).
    """
    if os.geteuid() != 0:
        raise LegacyStackError(f"setting up the legacy stack {NEEDS_ROOT}")
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root, log):
        if not force and _read_stamp(root, wanted) == wanted:
            return root
        mirror = mirror or os.environ.get("MFV_DEBIAN_MIRROR") or None
        log(f"building the legacy root at {root} (Debian {SUITE} from {mirror or DEFAULT_SOURCE})")
        partial = root.with_name(root.name + ".partial")
        remove_tree(partial)
        started = time.monotonic()
        try:
            build(partial, mirror)
            seconds = time.monotonic() - started
            (partial / STAMP_FILE).write_text(
                json.dumps(dict(wanted, mirror=mirror, built=time.time(), seconds=seconds))
            )
        except BaseException:
            remove_tree(partial)
            raise
        remove_tree(root)
        partial.rename(root)
    log(f"legacy root ready at {root} (built in {seconds:.0f} s)")
    return root


def read_stamp(root: Path) -> dict[str, Any] | None:
    """Return what the stamp of ``root`` records (None when it has none)."""
    try:
        return json.loads((root / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return None


def _read_stamp(root: Path, wanted: dict[str, Any]) -> dict[str, Any] | None:
    stamp = read_stamp(root)
    return None if stamp is None else {key: stamp.get(key) for key in wanted}


@contextmanager
def _locked(root: Path, log: Log) -> Iterator[None]:
    with open(root.with_name(root.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another setup of {root} to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(target: Path, mirror: str | None, log: Log) -> None:
    bootstrap(target, mirror, log)
    source = mirror or DEFAULT_SOURCE
    chroot = [tool("chroot"), str(target)]
    run_step("apt-get update", chroot + ["/usr/bin/apt-get", "update", "-qq"], log, mirror=source)
    run_step(
        "apt-get install",
        chroot + ["/usr/bin/apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        log,
        mirror=source,
    )
    run_step("apt-get clean", chroot + ["/usr/bin/apt-get", "clean"], log)
    verify(ChrootStack(target), log)


def bootstrap(target: Path, mirror: str | None, log: Log, *, suite: str = SUITE, include: tuple[str, ...] = ()) -> None:
    """Install a minimal Debian ``suite`` (default :data:`SUITE`), plus the packages ``include``
    names, at ``target`` with debootstrap (from ``mirror``, else its default)."""
    extra = [f"--include={','.join(include)}"] if include else []
    run_step(
        "debootstrap",
        [
            host_tool("debootstrap", "debootstrap", log, "use docker/legacy-bullseye"),
            "--variant=minbase",
            *extra,
            suite,
            str(target),
            *([mirror] if mirror else []),
        ],
        log,
        mirror=mirror or DEFAULT_SOURCE,
        detail=target / "debootstrap" / "debootstrap.log",
    )


def verify(stack: LegacyStack, log: Log) -> None:
    """Run the environment job on a new root's ``stack`` and log its versions (setup step 'verify')."""
    log("[verify] running the environment job in the new root")
    try:
        versions = environment(stack)["environment"]["versions"]
    except LegacyStackError as error:
        raise LegacyStackError(f"legacy setup step 'verify' failed: {error}") from None
    log("[verify] " + ", ".join(f"{name} {version}" for name, version in sorted(versions.items())))


def tool(name: str) -> str:
    found = system_tool(name)
    if found is None:
        raise LegacyStackError(f"the {name} command is missing on this machine")
    return found


def host_tool(command: str, package: str, log: Log, fallback: str) -> str:
    """Return ``command``'s path, installing Debian ``package`` with apt-get if it is missing.

    Without apt-get, raises :class:`LegacyStackError` that ends with ``fallback`` (what else to do).
    """
    found = system_tool(command)
    if found:
        return found
    apt_get = system_tool("apt-get")
    if apt_get is None:
        raise LegacyStackError(
            f"{command} is not installed and there is no apt-get to install it: install {package}, or {fallback}"
        )
    log(f"{command} is missing; installing {package} with apt-get")
    install = [apt_get, "install", "-y", "-qq", "--no-install-recommends", package]
    try:
        run_step(f"install {package}", install, log)
    except LegacyStackError:
        log(f"installing {package} failed; running apt-get update and trying again")
        run_step("apt-get update (host)", [apt_get, "update", "-qq"], log)
        run_step(f"install {package}", install, log)
    return tool(command)


def run_step(
    step: str,
    argv: list[str],
    log: Log,
    *,
    mirror: str | None = None,
    detail: Path | None = None,
    env: dict[str, str] | None = None,
    phase: re.Pattern[str] | None = None,
) -> None:
    """Run one setup step; on failure raise LegacyStackError with its output's tail.

    ``mirror`` marks a step that downloads: a failure that looks like a
    network one then says so.  ``detail`` is a log file worth quoting too.
    ``env`` adds to the clean environment.  ``phase`` finds the lines with
    which a script names its parts (group 1): a failure names the last one.
    """
    log(f"[{step}] started")
    env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"} | (env or {})
    env.update({name: os.environ[name] for name in _PASSED_ON if name in os.environ})
    started = time.monotonic()
    returncode, output = run_captured(
        argv, env=env, progress=lambda seconds, line: log(f"[{step}] {seconds:.0f} s: {line}")
    )
    if returncode == 0:
        log(f"[{step}] done in {time.monotonic() - started:.0f} s")
        return
    parts = phase.findall(output) if phase is not None else []
    if parts:
        step = f"{step}: {parts[-1]}"
    message = f"legacy setup step '{step}' failed (exit code {returncode}); its output ends:\n{tail(output)}"
    details = detail.read_text(errors="replace") if detail is not None and detail.exists() else ""
    if details:
        message += f"\n{detail.name} ends:\n{tail(details, 10)}"
    if mirror is not None and any(marker in output + details for marker in _NETWORK_FAILURES):
        message += (
            f"\nThe first setup needs network access to the Debian mirror {mirror} "
            "(or set MFV_DEBIAN_MIRROR to one that is reachable)."
        )
    raise LegacyStackError(message)


def remove_tree(path: Path) -> None:
    """Delete ``path`` unless something is mounted inside it (deleting would reach the host)."""
    if not path.exists():
        return
    path = path.resolve()
    inside = [mount for mount in _mount_points() if mount == path or path in mount.parents]
    if inside:
        raise LegacyStackError(f"refusing to delete {path}: {inside[0]} is mounted inside it; unmount it first")
    shutil.rmtree(path)


def _mount_points() -> list[Path]:
    with open("/proc/self/mounts") as mounts:
        fields = [line.split()[1] for line in mounts if line.strip()]
    return [Path(re.sub(r"\\([0-7]{3})", lambda octal: chr(int(octal.group(1), 8)), field)) for field in fields]
