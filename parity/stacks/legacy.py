"""Run legacy Caffe jobs from the modern side: one interface over several stacks.

A stack is an interpreter in which ``import caffe`` works.  :meth:`LegacyStack.run`
copies the ``legacy_caffe`` package and the job's inputs into a fresh job
folder the stack can see, runs ``python -m legacy_caffe job.json`` there with
a clean environment and pinned BLAS threads, copies the outputs out and
removes the folder.  Nothing but files crosses between the two interpreters.

* :class:`ChrootStack`: an interpreter of a Debian root (see
  :mod:`parity.stacks.provision`), run with ``chroot``; needs root.  Two such roots
  have names: ``chroot`` (Debian bullseye's Python 3.9 and python3-caffe) and
  ``py27`` (Python 2.7 with the thesis's pinned packages and pycaffe for 2.7
  on the same libcaffe, :mod:`parity.stacks.provision_py27`).
* :class:`LocalStack`: any interpreter the user names.

Every job runs with a pinned OpenBLAS kernel (``OPENBLAS_CORETYPE``) and
thread count: the kernel decides the rounding of every product, so a
reference that leaves it to CPU detection differs between machines.  The
default kernel is :data:`DEFAULT_BLAS_CORE` where the CPU has its
instructions, else :data:`FALLBACK_BLAS_CORE` (see :func:`default_blas_core`).

Every job has a timeout: the stack's (``DEFAULT_TIMEOUT`` unless given;
``--timeout`` on the command line), or the one a call names.  Past it, and
on any exception in the caller (SIGINT, and SIGTERM as ``mfv`` turns it into
one), the job's whole process group is killed and its folder removed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import legacy_caffe
from legacy_caffe import frames, protocol
from parity.stacks.docker_client import DOCKER_DIR, DockerClient, client_environment, recipe_hash
from parity.stacks.host import CLEAN_PATH, OUTPUT_TAIL_LINES, LegacyStackError, system_tool, tail

SETUP_HINT = (
    "set it up with `mfv legacy setup` (parity.stacks.provision.setup_chroot, as root), "
    "or use the Docker images docker/legacy-bullseye and docker/legacy-py27"
)
NEEDS_ROOT = "needs root for chroot; users without root use docker/legacy-bullseye"
DEFAULT_TIMEOUT = 900.0
DEFAULT_BLAS_CORE = "Haswell"
FALLBACK_BLAS_CORE = "Prescott"
STACK_ROOTS = {"chroot": ("MFV_LEGACY_ROOT", "legacy-bullseye"), "py27": ("MFV_LEGACY_PY27_ROOT", "legacy-py27")}
STACK_PYTHONS = {"chroot": "/usr/bin/python3", "py27": "/usr/bin/python2.7"}
DOCKER_STACKS = {
    "docker-bullseye": ("mfv-legacy-bullseye", "legacy-bullseye", STACK_PYTHONS["chroot"]),
    "docker-py27": ("mfv-legacy-py27", "legacy-py27", STACK_PYTHONS["py27"]),
}

LEGACY_CAFFE_DIR = Path(legacy_caffe.__file__).parent
_INPUT_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_JOB_FILE = "job.json"
_INPUTS = "inputs"
_OUT = "out"


class LegacyJobError(LegacyStackError):
    """A legacy job exited non-zero."""


class LegacyTimeoutError(LegacyStackError):
    """A legacy job ran past its timeout and was killed."""


@dataclass
class JobResult:
    """What a legacy job produced.

    ``arrays`` and ``manifest`` are read into memory.  ``files`` maps every
    other output file, by its path relative to the job's output folder, to
    its copy under ``out_dir``, which the caller owns: the ``out_dir`` given
    to :meth:`LegacyStack.run` (which then also receives ``result.npz`` and
    ``manifest.json``), else a fresh temporary folder, made only when there
    are such files (``out_dir`` is None otherwise).  ``stderr`` is the
    job's whole output, stdout merged in.
    """

    arrays: dict[str, np.ndarray]
    manifest: dict[str, Any]
    files: dict[str, Path]
    stderr: str
    out_dir: Path | None


def cache_folder() -> Path:
    """Return mfv-port's cache folder: ``$XDG_CACHE_HOME/mfv-port``, else ``~/.cache/mfv-port``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mfv-port"


def default_root(stack: str = "chroot") -> Path:
    """Return where the named chroot stack lives (see :data:`STACK_ROOTS`): its environment
    variable (``$MFV_LEGACY_ROOT``, ``$MFV_LEGACY_PY27_ROOT``), else its folder in :func:`cache_folder`."""
    variable, folder = STACK_ROOTS[stack]
    if os.environ.get(variable):
        return Path(os.environ[variable])
    return cache_folder() / folder


def other_blas_core(core: str) -> str:
    """The kernel the noise floor's kernel axis compares ``core`` with: :data:`FALLBACK_BLAS_CORE`
    (``Prescott``), or ``Core2`` (SSSE3, every x86-64 CPU since 2006) when ``core`` is that already."""
    return "Core2" if core.lower() == FALLBACK_BLAS_CORE.lower() else FALLBACK_BLAS_CORE


def default_blas_core(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """Return the OpenBLAS kernel legacy jobs use unless told otherwise.

    :data:`DEFAULT_BLAS_CORE` (``Haswell``: AVX2 and FMA, every Intel CPU
    since 2013 and AMD CPU since 2015) when ``cpuinfo``'s flags have ``avx2``
    and ``fma``; else :data:`FALLBACK_BLAS_CORE` (``Prescott``: SSE3, every
    x86-64 CPU CI may have).  The kernel OpenBLAS really ran is in each job's
    manifest.
    """
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return FALLBACK_BLAS_CORE
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return DEFAULT_BLAS_CORE if {"avx2", "fma"} <= set(flags) else FALLBACK_BLAS_CORE


def run_captured(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float | None = None,
    progress: Callable[[float, str], None] | None = None,
    progress_every: float = 15.0,
) -> tuple[int, str]:
    """Run ``argv`` in a process group of its own; return its exit code and output.

    stdout and stderr are captured together.  While it runs, ``progress``
    (if given) is called every ``progress_every`` seconds with the elapsed
    time and the last line of output so far.  Past ``timeout`` seconds, or
    on any exception here (Ctrl-C included), the whole group is killed;
    a timeout then raises :class:`subprocess.TimeoutExpired`.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while True:
                remaining = None if timeout is None else timeout - (time.monotonic() - started)
                if remaining is not None and remaining <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                try:
                    returncode = process.wait(progress_every if remaining is None else min(progress_every, remaining))
                    break
                except subprocess.TimeoutExpired:
                    if progress is not None:
                        progress(time.monotonic() - started, _last_line(output.fileno()))
        except BaseException:
            _kill_group(process)
            raise
        return returncode, _read(output.fileno()).decode("utf-8", "replace")


def _read(fd: int, limit: int | None = None) -> bytes:
    """Read the end of a file the child still writes to, without moving its shared offset."""
    size = os.fstat(fd).st_size
    start = 0 if limit is None else max(0, size - limit)
    return os.pread(fd, size - start, start)


def _last_line(fd: int) -> str:
    lines = _read(fd, 4096).decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name} (exit code {returncode})"
    return f"exit code {returncode}"


class LegacyStack(ABC):
    """An interpreter with pycaffe, able to run ``legacy_caffe`` jobs.

    Construction is cheap; the stack is checked on the first :meth:`run`.
    Subclasses say where job folders live, how a host path looks from the
    interpreter and which command runs it.
    """

    name: str

    def __init__(
        self,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        blas_core: str | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"a legacy job's timeout must be a positive number of seconds, not {timeout}")
        self._extra_env = dict(extra_env or {})
        self._set_blas_core(blas_core or default_blas_core())
        self._checked = False
        self.timeout = timeout

    def _set_blas_core(self, core: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_]+", core):
            raise ValueError(f"an OpenBLAS kernel is a name such as {DEFAULT_BLAS_CORE!r}, not {core!r}")
        self.blas_core = core
        self._extra_env[protocol.CORE_VARIABLE] = core

    def with_blas_core(self, core: str) -> LegacyStack:
        """This stack with OpenBLAS kernel ``core`` instead (the noise floor's kernel axis)."""
        other = copy.copy(self)
        other._extra_env = dict(self._extra_env)
        other._set_blas_core(core)
        return other

    def run(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Path] | None = None,
        *,
        threads: int = 1,
        timeout: float | None = None,
        out_dir: Path | None = None,
    ) -> JobResult:
        """Run legacy job ``kind`` with ``params`` on ``inputs`` (name -> host path).

        ``threads`` pins OpenBLAS/OpenMP/MKL threads (a reference that is not
        pinned is not a reference).  Raises :class:`LegacyStackError` if the
        stack is unusable, :class:`LegacyJobError` if the job fails and
        :class:`LegacyTimeoutError` past ``timeout`` seconds (default: the stack's).
        """
        with self._job_dir(kind, params, inputs, threads) as job_dir:
            output = self._execute(kind, job_dir, threads, self.timeout if timeout is None else timeout)
            return _collect(job_dir / _OUT, output, out_dir)

    @contextlib.contextmanager
    def worker(
        self,
        kind: str,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Path] | None = None,
        *,
        threads: int = 1,
        timeout: float | None = None,
    ) -> Iterator[LegacyWorker]:
        """Start a long-lived job ``kind`` that answers frames (:mod:`legacy_caffe.frames`).

        The job is staged as for :meth:`run`; requests go to its stdin and
        answers come from its stdout.  ``timeout`` (default: the stack's) bounds each answer.  On
        leaving the block the worker is asked to close, and killed if it
        does not.
        """
        with self._job_dir(kind, params, inputs, threads) as job_dir, tempfile.TemporaryFile() as errors:
            command, env = self._invocation(job_dir, threads)
            process = subprocess.Popen(
                command,
                env=env,
                cwd=job_dir,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                start_new_session=True,
            )
            worker = LegacyWorker(
                f"legacy worker {kind!r} on {self.name}",
                process,
                errors.fileno(),
                self.timeout if timeout is None else timeout,
            )
            try:
                yield worker
                worker.close()
            finally:
                if process.poll() is None:
                    _kill_group(process)

    @contextlib.contextmanager
    def _job_dir(
        self, kind: str, params: Mapping[str, Any] | None, inputs: Mapping[str, Path] | None, threads: int
    ) -> Iterator[Path]:
        """A staged job folder, removed afterwards."""
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        if not self._checked:
            self._check()
            self._checked = True
        job_dir = Path(tempfile.mkdtemp(prefix="mfv-job-", dir=self._job_parent()))
        try:
            _stage(job_dir, kind, dict(params or {}), dict(inputs or {}))
            yield job_dir
        except BaseException:
            self._abandon(job_dir)
            raise
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    @abstractmethod
    def _check(self) -> None:
        """Raise LegacyStackError, saying how to fix it, if this stack cannot run jobs."""

    def _job_parent(self) -> Path | None:
        """Return the host folder for job folders (None, by default: the system's temporary folder)."""
        return None

    def _inside(self, path: Path) -> str:
        """Return host ``path`` as the legacy interpreter sees it (by default: as the host does)."""
        return str(path)

    @abstractmethod
    def _command(self, job_file: str) -> list[str]:
        """Return the command that runs the job file (a path as the interpreter sees it)."""

    def _invocation(self, job_dir: Path, threads: int) -> tuple[list[str], dict[str, str]]:
        """The argv that runs ``job_dir``'s job and the environment it runs in."""
        return self._command(self._inside(job_dir / _JOB_FILE)), self._environment(job_dir, threads)

    def _abandon(self, job_dir: Path) -> None:  # noqa: B027 (an optional hook, a no-op by default)
        """Clean up what a job killed mid-way may leave besides its process group (nothing here)."""

    def _environment(self, job_dir: Path, threads: int) -> dict[str, str]:
        inside = self._inside(job_dir)
        env = {
            "PATH": CLEAN_PATH,
            "LANG": "C.UTF-8",
            "HOME": inside,
            "GLOG_minloglevel": "2",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update({variable: str(threads) for variable in protocol.THREAD_VARIABLES})
        env.update(self._extra_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (inside, self._extra_env.get("PYTHONPATH"))))
        return env

    def _execute(self, kind: str, job_dir: Path, threads: int, timeout: float) -> str:
        command, env = self._invocation(job_dir, threads)
        try:
            returncode, output = run_captured(command, env=env, cwd=job_dir, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LegacyTimeoutError(
                f"legacy job {kind!r} on {self.name} ran past its timeout of {timeout:g} s; "
                "its process group was killed"
            ) from None
        if returncode == protocol.EXIT_NO_CAFFE:
            raise LegacyStackError(
                f"{self.name} cannot run Caffe:\n{tail(output)}\n"
                f"Point it at an interpreter with pycaffe, or {SETUP_HINT}."
            )
        if returncode != protocol.EXIT_OK:
            raise LegacyJobError(
                f"legacy job {kind!r} failed on {self.name} with {_exit_description(returncode)}; "
                f"last {OUTPUT_TAIL_LINES} lines of its output:\n{tail(output)}"
            )
        return output


class LegacyWorker:
    """The host's end of a long-lived legacy job: one request, one answer."""

    def __init__(self, name: str, process: subprocess.Popen, errors_fd: int, timeout: float) -> None:
        self.name, self._process, self._errors_fd, self._timeout = name, process, errors_fd, timeout
        self._pending: str | None = None

    def request(
        self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Send one frame and return the answer's header and arrays."""
        self.send(header, arrays)
        return self.receive()

    def send(self, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """Send one request; the worker starts on it while the caller does other work."""
        try:
            frames.write_frame(self._process.stdin, dict(header), dict(arrays or {}))
        except BrokenPipeError:
            raise self._died() from None
        self._pending = header.get("op")

    def receive(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The answer to the request sent last, waiting at most the timeout."""
        ready, _, _ = select.select([self._process.stdout], [], [], self._timeout)
        if not ready:
            _kill_group(self._process)
            raise LegacyTimeoutError(
                f"{self.name} gave no answer to {self._pending!r} within "
                f"{self._timeout:g} s; its process group was killed"
            )
        answer, answer_arrays = frames.read_frame(self._process.stdout)
        if answer is None:
            raise self._died()
        return answer, answer_arrays

    def close(self) -> None:
        """Ask the worker to finish and check that it did."""
        try:
            frames.write_frame(self._process.stdin, {"op": "close"})
            self._process.stdin.close()
            self._process.wait(self._timeout)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            pass
        if self._process.poll() != protocol.EXIT_OK:
            raise self._died()

    def _died(self) -> LegacyJobError:
        if self._process.poll() is None:
            _kill_group(self._process)
        output = _read(self._errors_fd).decode("utf-8", "replace")
        return LegacyJobError(
            f"{self.name} stopped with {_exit_description(self._process.returncode)}; "
            f"last {OUTPUT_TAIL_LINES} lines of its output:\n{tail(output)}"
        )


def copy_legacy_caffe(folder: Path) -> Path:
    """Copy the ``legacy_caffe`` modules (its ``.py`` files, no bytecode) into ``folder``; return the copy."""
    return Path(
        shutil.copytree(
            LEGACY_CAFFE_DIR,
            folder / LEGACY_CAFFE_DIR.name,
            ignore=lambda parent, names: [name for name in names if not name.endswith(".py")],
        )
    )


def _stage(job_dir: Path, kind: str, params: dict[str, Any], inputs: dict[str, Path]) -> None:
    """Copy the ``legacy_caffe`` modules and the inputs into ``job_dir`` and write the job file."""
    copy_legacy_caffe(job_dir)
    staged = {}
    (job_dir / _INPUTS).mkdir()
    for name, source in inputs.items():
        if not _INPUT_NAME.fullmatch(name):
            raise ValueError(f"input name {name!r} must match {_INPUT_NAME.pattern}")
        source = Path(source)
        if not source.exists():
            raise FileNotFoundError(f"input {name!r} of legacy job {kind!r}: no file at {source}")
        staged[name] = f"{_INPUTS}/{name}"
        copy = shutil.copytree if source.is_dir() else shutil.copyfile
        copy(source, job_dir / staged[name])
    spec = {"kind": kind, "params": params, "inputs": staged, "out_dir": _OUT}
    (job_dir / _JOB_FILE).write_text(json.dumps(spec, indent=1))


def _collect(job_out: Path, output: str, out_dir: Path | None) -> JobResult:
    """Read a finished job's output folder into a JobResult, copying files to ``out_dir``."""
    with np.load(job_out / protocol.RESULT_FILE, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    manifest = json.loads((job_out / protocol.MANIFEST_FILE).read_text())
    produced = sorted(path.relative_to(job_out) for path in job_out.rglob("*") if path.is_file())
    others = [path for path in produced if path.as_posix() not in (protocol.RESULT_FILE, protocol.MANIFEST_FILE)]
    given = out_dir is not None
    if not given and others:
        out_dir = Path(tempfile.mkdtemp(prefix="mfv-legacy-"))
    for path in produced if given else others:
        (out_dir / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(job_out / path, out_dir / path)
    files = {path.as_posix(): out_dir / path for path in others}
    return JobResult(arrays=arrays, manifest=manifest, files=files, stderr=output, out_dir=out_dir)


class ChrootStack(LegacyStack):
    """The interpreter ``python`` (a path inside the root) of a Debian root, run through ``chroot`` (needs root).

    Job folders live in the root's ``/tmp``; files are copied, never bind-mounted.
    ``env`` adds variables to the clean environment.
    """

    def __init__(
        self,
        root: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        blas_core: str | None = None,
        python: str = STACK_PYTHONS["chroot"],
    ) -> None:
        super().__init__(env, timeout, blas_core)
        self.root = Path(root).absolute()
        self.python = python
        self._chroot: str | None = None
        self.name = f"chroot:{self.root}"

    def _check(self) -> None:
        if os.geteuid() != 0:
            raise LegacyStackError(f"{self.name} {NEEDS_ROOT}")
        if not (self.root / self.python.lstrip("/")).exists():
            raise LegacyStackError(f"no legacy root at {self.root}: {SETUP_HINT}")
        self._chroot = system_tool("chroot")
        if self._chroot is None:
            raise LegacyStackError("the chroot command is missing (package coreutils)")

    def _job_parent(self) -> Path:
        return self.root / "tmp"

    def _inside(self, path: Path) -> str:
        return "/" + path.relative_to(self.root).as_posix()

    def _command(self, job_file: str) -> list[str]:
        return [self._chroot, str(self.root), self.python, "-m", LEGACY_CAFFE_DIR.name, job_file]


class DockerStack(LegacyStack):
    """A legacy image of ``docker/`` run by a Docker engine, one container per job.

    ``docker run --rm --network none``: only the job folder is mounted (at
    its own path, so that paths read the same inside), the job runs as the
    calling user, the environment is passed variable by variable and the
    container is removed when the job ends, and forcibly when it is killed
    (timeout, Ctrl-C).  ``recipe`` names the
    ``docker/<recipe>`` folder the image was built from: an image whose
    label (:data:`parity.stacks.docker_client.LABEL_KEY`) is not that folder's
    :func:`~parity.stacks.docker_client.recipe_hash` is refused as out of date (``recipes``: where the
    recipe folders are; an installed mfv without them cannot date the image and trusts it).
    ``host`` is the engine (default :func:`~parity.stacks.docker_client.default_host`).
    """

    def __init__(
        self,
        image: str,
        recipe: str,
        *,
        python: str = STACK_PYTHONS["chroot"],
        host: str | None = None,
        recipes: Path = DOCKER_DIR,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        blas_core: str | None = None,
    ) -> None:
        super().__init__(env, timeout, blas_core)
        self.image, self.recipe, self.python, self.host, self.recipes = image, recipe, python, host, recipes
        self._client: DockerClient | None = None
        self.name = f"docker:{image}"

    def _check(self) -> None:
        client = DockerClient.find(self.host)
        if not client.reachable():
            raise LegacyStackError(
                f"no Docker engine answers at {client.host}: start the private one with `mfv docker setup` "
                "(as root), or point DOCKER_HOST at a running engine"
            )
        label = client.image_label(self.image)
        build = f"`mfv docker setup {self.recipe}` (as root; docs/docker.md says how to build it elsewhere)"
        if label is None:
            raise LegacyStackError(
                f"the Docker engine at {client.host} has no image {self.image}: build it with {build}"
            )
        wanted = recipe_hash(self.recipe, self.recipes) if (self.recipes / self.recipe).is_dir() else label
        if label != wanted:
            raise LegacyStackError(
                f"image {self.image} is older than {self.recipes / self.recipe} (its recipe label is "
                f"{label or 'missing'!r}, the folder's hash {wanted!r}): rebuild it with {build}"
            )
        self._client = client

    def _command(self, job_file: str) -> list[str]:
        return [self.python, "-m", LEGACY_CAFFE_DIR.name, job_file]

    def _invocation(self, job_dir: Path, threads: int) -> tuple[list[str], dict[str, str]]:
        """``docker run`` of the job; the job's environment goes in as ``--env`` options."""
        command, env = super()._invocation(job_dir, threads)
        argv = self._client.command(
            "run",
            "--rm",
            "--interactive",
            "--network",
            "none",
            "--name",
            _container_name(job_dir),
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            "--volume",
            f"{job_dir}:{job_dir}",
            "--workdir",
            str(job_dir),
        )
        for variable, value in sorted(env.items()):
            argv += ["--env", f"{variable}={value}"]
        return [*argv, self.image, *command], client_environment()

    def _abandon(self, job_dir: Path) -> None:
        """Remove the job's container: killing the client does not stop it."""
        subprocess.run(
            self._client.command("rm", "--force", _container_name(job_dir)),
            env=client_environment(),
            capture_output=True,
            timeout=60,
        )


def _container_name(job_dir: Path) -> str:
    return f"mfv-{job_dir.name}"


class LocalStack(LegacyStack):
    """Any interpreter in which ``import caffe`` works.

    ``env`` adds variables the interpreter needs (e.g. ``PYTHONPATH`` or
    ``LD_LIBRARY_PATH`` of a Caffe build); the host's own are not passed on.
    """

    def __init__(
        self,
        python: str,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        blas_core: str | None = None,
    ) -> None:
        super().__init__(env, timeout, blas_core)
        self.python = python
        self._executable: str | None = None
        self.name = f"local:{python}"

    def _check(self) -> None:
        found = shutil.which(self.python)
        if found is None:
            raise LegacyStackError(
                f"no interpreter {self.python!r}: name one in which `import caffe` works, or {SETUP_HINT}"
            )
        self._executable = os.path.abspath(found)

    def _command(self, job_file: str) -> list[str]:
        return [self._executable, "-m", LEGACY_CAFFE_DIR.name, job_file]


def get_stack(name: str = "chroot", **kw: Any) -> LegacyStack:
    """Return the stack ``name`` names: ``chroot`` (the bullseye root), ``py27`` (the Python 2.7 root),
    ``chroot:/root/path``, ``py27:/root/path``, ``local:/path/to/python`` or one of :data:`DOCKER_STACKS`
    (``docker-bullseye``, ``docker-py27``); ``kw`` goes to the stack's constructor."""
    kind, _, argument = name.partition(":")
    if kind in STACK_ROOTS:
        return ChrootStack(Path(argument) if argument else default_root(kind), python=STACK_PYTHONS[kind], **kw)
    if kind == "local" and argument:
        return LocalStack(argument, **kw)
    if name in DOCKER_STACKS:
        image, recipe, python = DOCKER_STACKS[name]
        return DockerStack(image, recipe, python=python, **kw)
    raise ValueError(
        f"unknown legacy stack {name!r}: use 'chroot', 'py27', 'chroot:/path/to/root', "
        "'py27:/path/to/root', 'local:/path/to/python', 'docker-bullseye' or 'docker-py27'"
    )
