"""Run the listed one-line mutations (scripts/mutations.json) against the fast tests that cover each.

    python scripts/mutations.py                  # every mutation, after a baseline run of their tests
    python scripts/mutations.py --only ID ...    # some of them
    python scripts/mutations.py --list           # the list, nothing run

The working tree is never touched: its tracked and untracked-but-not-ignored
files are copied once into a temporary directory (``../shared`` linked
beside the copy), and each mutation is written into that copy, tested with
``pytest -m "not legacy" -x`` on its own tests, and undone.  A mutant is
killed when its tests fail (or cannot be collected), survives when they pass.
Exit status 0 when every mutant run is killed or is a listed survivor
('survives': why it is harmless; 'pending': who will kill it), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIST = Path(__file__).with_name("mutations.json")
TIMEOUT_S = 600
FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str
    original: str
    mutated: str
    tests: tuple[str, ...]
    survives: str | None = None
    pending: str | None = None

    @property
    def excuse(self) -> str | None:
        return self.survives or self.pending


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    result: str  # killed | survived | not covered | baseline fails
    seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.result == "killed" or (self.result in ("survived", "not covered") and bool(self.mutation.excuse))


def load(path: Path = LIST) -> list[Mutation]:
    entries = json.loads(path.read_text())["mutations"]
    return [Mutation(**{**entry, "tests": tuple(entry["tests"])}) for entry in entries]


def copy_repo(into: Path) -> Path:
    """The working tree's tracked and non-ignored files under ``into/repo``; ``into/shared`` links to ../shared."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    copy = into / "repo"
    for name in filter(None, (n.decode() for n in listed)):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    shared = REPO.parent / "shared"
    if shared.exists():
        (into / "shared").symlink_to(shared)
    return copy


def pytest(copy: Path, tests: tuple[str, ...], *, stop_first: bool) -> tuple[int, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(copy),
        "PYTHONDONTWRITEBYTECODE": "1",  # a mutant and the original may share size and mtime second
        "NUMBA_CACHE_DIR": str(copy.parent / "numba-cache"),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-m", "not legacy"]
    command += ["-x"] if stop_first else []
    try:
        done = subprocess.run(
            command + list(tests), cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {TIMEOUT_S} s"
    return done.returncode, done.stdout + done.stderr


def mutate(copy: Path, mutation: Mutation) -> str:
    """Write the mutant; return the original text."""
    path = copy / mutation.file
    text = path.read_text()
    if text.count(mutation.original) != 1:
        raise SystemExit(
            f"{mutation.id}: {mutation.original!r} occurs {text.count(mutation.original)} times in "
            f"{mutation.file} (must be once): update scripts/mutations.json"
        )
    path.write_text(text.replace(mutation.original, mutation.mutated))
    return text


def run_one(copy: Path, mutation: Mutation, broken: set[str]) -> Outcome:
    if not mutation.tests:
        return Outcome(mutation, "not covered", 0.0, "no fast test listed")
    spoilt = [
        t for t in mutation.tests if any(b == t or b.startswith(t + "::") or b.startswith(t + "[") for b in broken)
    ]
    if spoilt:
        return Outcome(mutation, "baseline fails", 0.0, ", ".join(spoilt))
    original = mutate(copy, mutation)
    started = time.monotonic()
    try:
        code, output = pytest(copy, mutation.tests, stop_first=True)
    finally:
        (copy / mutation.file).write_text(original)
    seconds = time.monotonic() - started
    if code in (-1, 1, 2):
        failed = FAILED_LINE.findall(output)
        return Outcome(mutation, "killed", seconds, failed[0] if failed else output.strip().splitlines()[-1])
    if code == 0:
        return Outcome(mutation, "survived", seconds, "all listed tests pass")
    raise SystemExit(f"{mutation.id}: pytest exited {code} (not a test result):\n{output[-3000:]}")


def baseline(copy: Path, mutations: list[Mutation]) -> set[str]:
    """Run every listed test on the unmutated copy; return the node ids that fail there."""
    tests = tuple(dict.fromkeys(t for m in mutations for t in m.tests))
    if not tests:
        return set()
    code, output = pytest(copy, tests, stop_first=False)
    if code not in (0, 1):
        raise SystemExit(f"baseline: pytest exited {code}:\n{output[-3000:]}")
    return set(FAILED_LINE.findall(output))


def report(outcomes: list[Outcome]) -> str:
    counts = {r: sum(o.result == r for o in outcomes) for r in ("killed", "survived", "not covered", "baseline fails")}
    lines = [
        f"{o.result:>14}  {o.mutation.id:<46} {o.seconds:6.1f} s  {o.mutation.excuse or o.detail}" for o in outcomes
    ]
    lines.append(f"{len(outcomes)} mutants: " + ", ".join(f"{n} {r}" for r, n in counts.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="print the mutations and run nothing")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = parser.parse_args(argv)
    mutations = load()
    if args.only:
        unknown = set(args.only) - {m.id for m in mutations}
        if unknown:
            parser.error(f"unknown mutation(s): {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m.id in args.only]
    if args.list:
        for m in mutations:
            print(f"{m.id}: {m.file}: {m.original!r} -> {m.mutated!r}; tests: {', '.join(m.tests) or '-'}")
        return 0
    with tempfile.TemporaryDirectory(prefix="mfv-mutations-") as tmp:
        copy = copy_repo(Path(tmp))
        broken = baseline(copy, mutations)
        outcomes = []
        for mutation in mutations:
            outcomes.append(run_one(copy, mutation, broken))
            print(report(outcomes[-1:]).splitlines()[0], flush=True)
    print(report(outcomes))
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"id": o.mutation.id, "result": o.result, "seconds": round(o.seconds, 1), "detail": o.detail}
                    for o in outcomes
                ],
                indent=2,
            )
            + "\n"
        )
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
