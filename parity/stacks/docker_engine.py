"""A private Docker engine, locally made base images and the project's images.

:func:`start_engine` starts (or reuses) a ``dockerd`` of our own, as root:
``--bridge none --iptables=false --ip6tables=false`` and the storage driver
:func:`storage_driver` picks (``overlay2`` where the kernel lets us mount an
overlay, else ``vfs``, which works everywhere but copies the whole image for
every layer and every container), with its data, exec root, pid file, log and socket all under
:func:`default_home` (``~/.cache/mfv-port/docker``), so that a machine that
keeps its cache keeps its images.  It touches neither the host's network
nor a system engine.

Base images come from ``debootstrap`` (:func:`parity.stacks.provision.bootstrap`)
piped into ``docker import`` (:func:`import_base`); each Dockerfile of
``docker/`` takes its base as ``ARG BASE`` whose default is the Docker Hub
image, so users with Docker Hub build with no argument.

:func:`build_image` labels every image with :func:`recipe_hash` of its
``docker/NAME`` folder (the label ``LABEL_KEY``); :class:`parity.stacks.DockerStack`
compares that label with the folder to refuse an image older than its recipe.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from parity.stacks.docker_client import DOCKER_DIR, DockerClient, client_environment, default_home, recipe_hash
from parity.stacks.host import CLEAN_PATH, LegacyStackError, tail
from parity.stacks.legacy import cache_folder, copy_legacy_caffe
from parity.stacks.provision import Log, bootstrap, host_tool, remove_tree, run_step, tool
from parity.stacks.provision_py27 import RECIPE_DIR
from parity.stacks.provision_py27 import fill_wheelhouse as fill_py27_wheelhouse

__all__ = [
    "BASES",
    "IMAGES",
    "Base",
    "Image",
    "build_image",
    "engine_command",
    "fill_wheelhouse",
    "serve_folder",
    "stage_py27",
    "storage_driver",
    "import_base",
    "start_engine",
    "stop_engine",
]

START_TIMEOUT = 60.0
ENGINE_FLAGS = ("--bridge", "none", "--iptables=false", "--ip6tables=false")


@dataclass(frozen=True)
class Base:
    """A base image made with debootstrap: Debian ``suite`` plus ``include``d packages."""

    name: str
    suite: str
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class Image:
    """One of the project's images: ``docker/<recipe>/Dockerfile`` built on ``base`` as ``name``.

    ``context`` is the build context relative to the repository (None: the recipe's folder);
    ``wheels``: it installs Python wheels, from a local wheelhouse when built here;
    ``staged``: it is built from a context staged by :func:`stage_py27` (the py27 recipe, its
    wheelhouse, Debian sources and ``legacy_caffe``), not from a folder of the repository.
    """

    name: str
    recipe: str
    base: Base
    context: str | None = None
    wheels: bool = False
    staged: bool = False


BASES = {
    "bullseye": Base("mfv-base:bullseye", "bullseye"),
    "bookworm-python": Base("mfv-base:bookworm-python", "bookworm", ("python3", "python3-venv")),
}
IMAGES = {
    "legacy-bullseye": Image("mfv-legacy-bullseye", "legacy-bullseye", BASES["bullseye"], context="."),
    "port": Image(
        "mfv-port",
        "port",
        BASES["bookworm-python"],
        context=".",
        wheels=True,
    ),
    "legacy-py27": Image("mfv-legacy-py27", "legacy-py27", BASES["bullseye"], staged=True),
}


def storage_driver(home: Path) -> str:
    """``$MFV_DOCKER_STORAGE_DRIVER``, else ``overlay2`` if an overlay mounts under ``home``, else ``vfs``.

    Measured here (AMD EPYC, shared): ``docker run --rm`` of the 773 MB bullseye image
    took 36 s under vfs, which copies the image for each container.
    """
    if os.environ.get("MFV_DOCKER_STORAGE_DRIVER"):
        return os.environ["MFV_DOCKER_STORAGE_DRIVER"]
    probe = Path(tempfile.mkdtemp(prefix="overlay-probe-", dir=home))
    parts = {name: probe / name for name in ("lower", "upper", "work", "merged")}
    for folder in parts.values():
        folder.mkdir()
    options = f"lowerdir={parts['lower']},upperdir={parts['upper']},workdir={parts['work']}"
    mounted = subprocess.run(
        [tool("mount"), "-t", "overlay", "overlay", "-o", options, str(parts["merged"])], capture_output=True
    )
    if mounted.returncode == 0:
        subprocess.run([tool("umount"), str(parts["merged"])], check=True)
    remove_tree(probe)
    return "overlay2" if mounted.returncode == 0 else "vfs"


def engine_command(home: Path) -> list[str]:
    """The ``dockerd`` argv of the private engine whose files live under ``home``."""
    return [
        tool("dockerd"),
        "--storage-driver",
        storage_driver(home),
        *ENGINE_FLAGS,
        "--data-root",
        str(home / "data"),
        "--exec-root",
        str(home / "exec"),
        "--pidfile",
        str(home / "dockerd.pid"),
        "--host",
        f"unix://{home / 'docker.sock'}",
    ]


def start_engine(home: Path | None = None, log: Log = print) -> DockerClient:
    """Return the private engine under ``home`` (default :func:`default_home`), starting it if needed.

    Needs root (installs Debian's docker.io when ``dockerd`` is missing).
    The engine runs detached in its own session and outlives the caller;
    :func:`stop_engine` ends it.  Raises :class:`LegacyStackError` with the
    tail of ``dockerd.log`` when it does not answer within ``START_TIMEOUT`` seconds.
    """
    home = Path(home) if home is not None else default_home()
    if os.geteuid() == 0:
        host_tool("dockerd", "docker.io", log, "start a Docker engine yourself and set DOCKER_HOST")
    client = DockerClient.find(f"unix://{home / 'docker.sock'}")
    if client.reachable():
        return client
    if os.geteuid() != 0:
        raise LegacyStackError(
            f"starting the private Docker engine under {home} needs root; "
            "without root, use a running engine (DOCKER_HOST)"
        )
    home.mkdir(parents=True, exist_ok=True)
    (home / "docker.sock").unlink(missing_ok=True)
    log(f"starting a private Docker engine under {home}")
    with open(home / "dockerd.log", "ab") as output:
        subprocess.Popen(
            engine_command(home),
            env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": str(home)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if client.reachable():
            return client
        time.sleep(1)
    raise LegacyStackError(
        f"the private Docker engine under {home} did not answer within {START_TIMEOUT:g} s; "
        f"dockerd.log ends:\n{tail((home / 'dockerd.log').read_text(errors='replace'))}"
    )


def stop_engine(home: Path | None = None, wait: float = 30.0) -> bool:
    """Stop the private engine under ``home`` (SIGTERM to its pid file's process); return whether one ran."""
    home = Path(home) if home is not None else default_home()
    try:
        pid = int((home / "dockerd.pid").read_text())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            _unmount_under(home)
            return True
        time.sleep(0.5)
    raise LegacyStackError(f"the private Docker engine (pid {pid}) did not stop within {wait:g} s")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs; reaps it first if it is this process's own child (an engine
    started here, by :func:`start_engine`, would otherwise linger as a zombie)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _unmount_under(home: Path) -> None:
    """Unmount what a stopped engine leaves mounted under ``home`` (its network namespace file), deepest first,
    so that the folder can be removed."""
    mounts = Path("/proc/mounts").read_text().splitlines()
    inside = [point for point in (line.split()[1] for line in mounts) if point.startswith(f"{home.resolve()}/")]
    for point in sorted(inside, key=len, reverse=True):
        subprocess.run([tool("umount"), point], capture_output=True)


def import_base(client: DockerClient, base: Base, *, mirror: str | None = None, log: Log = print) -> bool:
    """Make ``base`` with debootstrap and ``docker import`` it, unless the engine has it; return whether it did."""
    if client.image_label(base.name) is not None:
        return False
    mirror = mirror or os.environ.get("MFV_DEBIAN_MIRROR") or None
    home = default_home()
    home.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="base-", dir=home))
    try:
        bootstrap(root, mirror, log, suite=base.suite, include=base.include)
        run_step("apt-get clean", [tool("chroot"), str(root), "/usr/bin/apt-get", "clean"], log)
        log(f"[docker import] {base.name}")
        tar = subprocess.Popen([tool("tar"), "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            client.command("import", "-", base.name),
            stdin=tar.stdout,
            env=client_environment(),
            capture_output=True,
            text=True,
        )
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise LegacyStackError(f"docker import of {base.name} failed: {imported.stderr.strip()}")
    finally:
        remove_tree(root)
    return True


def build_image(
    client: DockerClient,
    image: Image,
    *,
    repo: Path = DOCKER_DIR.parent,
    local_base: bool = True,
    log: Log = print,
) -> bool:
    """Build ``image`` unless the engine has it with the current recipe label; return whether it built.

    The recipe's hash goes in as ``RECIPE``, which every Dockerfile of ``docker/`` turns into the
    label ``LABEL_KEY`` before its one big layer (``--label`` would add a last layer, a full copy
    of the image under the vfs storage driver).  The image it replaces is removed (an image of
    the port is 6.6 GB), unless something still uses it.

    ``local_base`` builds on the debootstrap base (imported first if
    missing) instead of the Dockerfile's Docker Hub default, and an image
    with ``wheels`` installs from :func:`fill_wheelhouse`'s folder, served
    to the build over HTTP on the loopback.  The build uses the host's
    network (``--network host``: apt reaches its mirror, pip the wheelhouse).
    """
    wanted = recipe_hash(image.recipe, repo / "docker")
    if client.image_label(image.name) == wanted:
        return False
    argv = client.command(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"RECIPE={wanted}",
        "--file",
        str(repo / "docker" / image.recipe / "Dockerfile"),
        "--tag",
        image.name,
    )
    if local_base:
        import_base(client, image.base, log=log)
        argv += ["--build-arg", f"BASE={image.base.name}"]
    with ExitStack() as cleanup:
        context = repo / (image.context or f"docker/{image.recipe}")
        if image.staged:
            context = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="context-", dir=default_home())))
            stage_py27(context, log)
        if local_base and image.wheels:
            argv += ["--build-arg", f"WHEELS={cleanup.enter_context(serve_folder(fill_wheelhouse(repo, log)))}"]
        previous = client.image_id(image.name)
        run_step(f"docker build {image.name}", [*argv, str(context)], log)
    if previous not in (None, client.image_id(image.name)) and client.remove_image(previous):
        log(f"removed the previous {image.name} ({previous})")
    return True


def stage_py27(context: Path, log: Log = print) -> None:
    """Fill ``context``, the py27 image's build context, as the py27 chroot's build fills its root:
    ``recipes/`` (``parity/recipes``), ``wheelhouse/`` (:func:`parity.stacks.provision_py27.fill_wheelhouse`,
    cached), ``sources/`` (the cached Debian source packages; the recipe downloads missing ones) and
    ``legacy_caffe/`` (:func:`parity.stacks.copy_legacy_caffe`)."""
    shutil.copytree(RECIPE_DIR, context / "recipes")
    copy_legacy_caffe(context)
    shutil.copytree(fill_py27_wheelhouse(cache_folder() / "py27-wheelhouse", log), context / "wheelhouse")
    sources = cache_folder() / "debian-sources"
    sources.mkdir(parents=True, exist_ok=True)
    shutil.copytree(sources, context / "sources")


def fill_wheelhouse(repo: Path, log: Log = print) -> Path:
    """Download, with the host's pip and its configuration, every wheel the port's image installs
    (the project's dependencies and its test extra under constraints.txt, and setuptools) into
    ``default_home()/wheelhouse``; return that folder.  Wheels already there are kept."""
    wheelhouse = default_home() / "wheelhouse"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    run_step(
        "fill the wheelhouse",
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--dest",
            str(wheelhouse),
            "--constraint",
            str(repo / "constraints.txt"),
            f"{repo}[test]",
            "setuptools",
        ],
        log,
    )
    return wheelhouse


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` read-only over HTTP on 127.0.0.1 (a free port) while the block runs; yield its URL."""
    handler = partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()
            thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log: the build's own output says what pip fetched."""
