"""Weights of torchvision networks: a state-dict file checked against the architecture, torchvision's
own download cache (never a download), or seeded random initialisation.

Loading never executes code: files are read with ``torch.load(...,
weights_only=True)``, which unpickles tensors and plain containers only.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from pickle import UnpicklingError

import torch
from torch import nn
from torchvision.models import get_model_weights

SHOWN = 5


class WeightsError(ValueError):
    """Weights that cannot be used: a missing or unreadable file, or tensors that do not fit the net."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a state-dict file (a mapping of names to tensors), on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except UnpicklingError as exc:
        if not zipfile.is_zipfile(path):
            raise WeightsError(f"{path}: not a PyTorch state-dict file (torch.save writes a zip archive)") from None
        raise WeightsError(
            f"{path}: not a plain state dict (loading never executes code; weights_only refused it: "
            f"{str(exc).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise WeightsError(f"{path}: not a PyTorch state-dict file ({str(exc).splitlines()[0]})") from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise WeightsError(f"{path}: holds a {type(state).__name__}, not a mapping of tensor names to tensors")
    return dict(state)


def _listed(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def check_fit(state: Mapping[str, torch.Tensor], model: nn.Module, name: str, source: str) -> None:
    """Raise :class:`WeightsError` naming the tensors missing, unexpected or of another shape."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} is {tuple(state[k].shape)} in the file, {tuple(v.shape)} in {name}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [
        f"missing tensors: {_listed(missing)}" if missing else "",
        f"tensors {name} does not have: {_listed(unexpected)}" if unexpected else "",
        f"shapes differ: {_listed(shapes)}" if shapes else "",
    ]
    if any(problems):
        raise WeightsError(f"{source}: the weights do not fit {name}: " + "; ".join(p for p in problems if p))


def load_weights(
    model: nn.Module, name: str, path: str | Path, ignore: Callable[[str], bool] = lambda k: False
) -> None:
    """Load the state dict in ``path`` into ``model`` (tensors for which ``ignore`` is true are dropped)."""
    state = {k: v for k, v in read_state_dict(path).items() if not ignore(k)}
    check_fit(state, model, name, str(path))
    model.load_state_dict(state)


def cached_weights(name: str) -> Path:
    """The file of torchvision's pretrained weights for ``name`` in its download cache
    (``torch.hub.get_dir()/checkpoints/<the URL's file name>``), the default weights first.

    Nothing is downloaded: without a cached file, a :class:`WeightsError` lists the files looked for.
    """
    enum = get_model_weights(name)
    members = [enum.DEFAULT] + [m for m in enum if m is not enum.DEFAULT and m.meta.get("categories")]
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    candidates = [folder / m.url.rsplit("/", 1)[1] for m in members]
    for path in candidates:
        if path.is_file():
            return path
    raise WeightsError(
        f"no pretrained {name} weights in torchvision's cache (looked for {', '.join(map(str, candidates))}); "
        "mfv downloads nothing: pass a state-dict file with --weights"
    )


def random_init(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build()`` with torchvision's own initialisation drawn from ``torch.manual_seed(seed)``,
    leaving the caller's random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
