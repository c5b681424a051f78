"""The docker client as the harness uses it: which engine, whether it answers, an image's recipe label.

Every image of ``docker/`` is built (:func:`parity.stacks.docker_engine.build_image`)
with the label ``LABEL_KEY`` = :func:`recipe_hash` of its ``docker/<recipe>``
folder; :class:`parity.stacks.DockerStack` compares the two to refuse an
image older than its recipe.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from parity.stacks.host import CLEAN_PATH, LegacyStackError, system_tool

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"
LABEL_KEY = "org.mfv-port.recipe-sha256"
ANSWER_TIMEOUT = 20.0
RECIPE_INPUTS = {
    "legacy-py27": (
        "parity/recipes/py27.sh",
        "parity/recipes/py27-requirements.txt",
        "parity/recipes/py27-build-requirements.txt",
    ),
    "port": ("pyproject.toml", "constraints.txt", ".dockerignore"),
}
"""The repository's files, besides ``docker/<recipe>``, that an image is built from: they join its label."""


@dataclass(frozen=True)
class DockerClient:
    """The docker client's path and the engine address it talks to (``--host``)."""

    client: str
    host: str

    @classmethod
    def find(cls, host: str | None = None) -> DockerClient:
        """The client on this machine, talking to ``host`` (default :func:`default_host`)."""
        client = system_tool("docker")
        if client is None:
            raise LegacyStackError("the docker client is missing: install Docker (Debian: apt-get install docker.io)")
        return cls(client, host or default_host())

    def command(self, *args: str) -> list[str]:
        """The argv of ``docker --host HOST ARGS...``."""
        return [self.client, "--host", self.host, *args]

    def reachable(self) -> bool:
        """Whether the engine answers ``docker version`` within ``ANSWER_TIMEOUT`` seconds."""
        try:
            done = subprocess.run(
                self.command("version", "--format", "{{.Server.Version}}"),
                env=client_environment(),
                capture_output=True,
                timeout=ANSWER_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def _inspect(self, image: str, template: str) -> str | None:
        """``docker image inspect --format TEMPLATE image``'s output, or None if the engine has no such image."""
        done = subprocess.run(
            self.command("image", "inspect", "--format", template, image),
            env=client_environment(),
            capture_output=True,
            text=True,
        )
        return done.stdout.strip() if done.returncode == 0 else None

    def image_label(self, image: str) -> str | None:
        """``image``'s recipe label, "" if it has none, or None if the engine has no such image."""
        label = self._inspect(image, f'{{{{index .Config.Labels "{LABEL_KEY}"}}}}')
        return "" if label == "<no value>" else label

    def image_id(self, image: str) -> str | None:
        """``image``'s content id (``sha256:...``), or None if the engine has no such image."""
        return self._inspect(image, "{{.Id}}")

    def remove_image(self, image_id: str) -> bool:
        """Remove the image ``image_id`` if nothing uses it any more; return whether it went."""
        done = subprocess.run(
            self.command("image", "rm", image_id), env=client_environment(), capture_output=True, text=True
        )
        return done.returncode == 0


def default_home() -> Path:
    """Where the private engine keeps everything: ``$MFV_DOCKER_HOME``, else ``~/.cache/mfv-port/docker``."""
    if os.environ.get("MFV_DOCKER_HOME"):
        return Path(os.environ["MFV_DOCKER_HOME"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mfv-port" / "docker"


def default_host() -> str:
    """The engine the stacks use: ``$DOCKER_HOST``, else the private engine's socket if it
    exists, else Docker's own default socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    private = default_home() / "docker.sock"
    return f"unix://{private}" if private.exists() else "unix:///var/run/docker.sock"


def client_environment() -> dict[str, str]:
    """A clean environment for the docker client: system ``PATH``, its config under the engine's home."""
    return {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "DOCKER_CONFIG": str(default_home() / "client")}


def recipe_hash(recipe: str, docker_dir: Path = DOCKER_DIR) -> str:
    """SHA-256 over every file of ``docker/<recipe>`` in sorted order, then the repository's files
    ``RECIPE_INPUTS`` names for it: for each, its path (relative to its folder, or to the
    repository), NUL, its bytes, NUL."""
    folder = docker_dir / recipe
    if not (folder / "Dockerfile").is_file():
        raise LegacyStackError(f"no Dockerfile at {folder / 'Dockerfile'}")
    files = [(path, path.relative_to(folder).as_posix()) for path in sorted(folder.rglob("*")) if path.is_file()]
    files += [(docker_dir.parent / name, name) for name in RECIPE_INPUTS.get(recipe, ())]
    digest = hashlib.sha256()
    for path, name in files:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
