"""Training PlantedCaffeNet in real Caffe (docs/planted.md): its data, its batch order, the legacy job.

The host draws the training images (``port.planted.planted_set``, seed
``TRAIN_SEED``) at the net's input size and fixes every step's batch
(:func:`batch_order`); the legacy ``train`` job (``legacy_caffe.train``)
only feeds them to pycaffe's solver, whose ``random_seed`` seeds Caffe's
fillers and dropout.  With the OpenBLAS kernel and thread count pinned
(the stack's), the written ``.caffemodel`` is a function of the recipe:
:func:`train_planted` twice gives the same bytes, and so does the Python
2.7 stack on the same libcaffe.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from parity.stacks import LegacyStack
from port.atomic import atomic_write_bytes
from port.caffe.reader import net_inputs, read_prototxt
from port.imaging import CAFFE_MEAN_BGR
from port.models.planted_caffenet import (
    PLANTED_CAFFENET_PROTOTXT,
    PLANTED_INPUT_SIZE,
    PLANTED_SOLVER_PROTOTXT,
    PLANTED_TRAIN_PROTOTXT,
)
from port.planted import PLANTED
from port.planted.dataset import planted_set

TRAIN_SEED = 0
"""Seed of the training images; evaluation draws from other seeds (``port.models.planted_caffenet.HELD_OUT_SEED``)."""
LABEL_BLOBS = ("label", "facet")
LOSS_BLOBS = ("loss", "loss_facet")
TRAINING_ONLY = ("fc8_facet",)
SNAPSHOTS = (12, 100)
"""Steps after which ``mfv planted train`` records the weights' SHA-256: the prefixes CI reruns."""
RECORDED_LOSSES = 100


@dataclass(frozen=True)
class TrainingRecipe:
    """What a training is a function of, besides the three prototxts and the pinned BLAS.

    ``images`` training images of seed ``image_seed``; ``steps`` solver steps
    of one batch each (the batch size is the training net's); ``order_seed``
    seeds :func:`batch_order`.  The defaults are the committed model's.
    """

    images: int = 4800
    steps: int = 2500
    image_seed: int = TRAIN_SEED
    order_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("images", "steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} {getattr(self, name)}: must be at least 1")
        if self.images % PLANTED.n_facets:
            raise ValueError(f"images {self.images}: must be a multiple of {PLANTED.n_facets} (balanced facets)")


@dataclass(frozen=True)
class TrainingRun:
    """A finished training: the weights Caffe wrote, their SHA-256, the per-step losses
    (``(steps, 2)``: class, facet) and batch accuracy, seconds per step, the job's manifest and the
    SHA-256 of the weights after each snapshot step."""

    recipe: TrainingRecipe
    weights: Path
    sha256: str
    losses: np.ndarray
    correct: np.ndarray
    batch: int
    seconds_per_step: float
    manifest: dict
    snapshot_sha256: dict[int, str]

    @property
    def final_accuracy(self) -> float:
        """Training-batch accuracy over the last 100 steps (or all, if fewer)."""
        tail = self.correct[-100:]
        return float(tail.sum()) / (len(tail) * self.batch)


def training_record(run: TrainingRun, blas_core: str, threads: int) -> dict:
    """What a training's ``.json`` beside its weights records: enough to rerun it and to check a rerun."""
    return {
        "weights": run.weights.name,
        "sha256": run.sha256,
        "bytes": run.weights.stat().st_size,
        "recipe": asdict(run.recipe),
        "batch": run.batch,
        "blas_core": blas_core,
        "threads": threads,
        "seconds_per_step": round(run.seconds_per_step, 4),
        "last_100_steps_batch_accuracy": run.final_accuracy,
        "snapshot_sha256": {str(step): digest for step, digest in sorted(run.snapshot_sha256.items())},
        "first_losses": run.losses[:RECORDED_LOSSES].tolist(),
        "last_losses": run.losses[-1].tolist(),
        "caffe": run.manifest["environment"]["versions"].get("caffe"),
        "python": run.manifest["environment"].get("python"),
    }


def check_recipe(recipe: TrainingRecipe) -> None:
    """A ValueError naming the field when the committed solver cannot run ``recipe``."""
    limit = solver_max_iter()
    if recipe.steps > limit:
        raise ValueError(f"steps {recipe.steps}: the solver ({PLANTED_SOLVER_PROTOTXT.name}) stops at max_iter {limit}")


def solver_max_iter(solver: Path = PLANTED_SOLVER_PROTOTXT) -> int:
    """The solver's ``max_iter``: the most steps a training of it may take."""
    found = re.search(r"^max_iter:\s*(\d+)\s*$", solver.read_text(), re.M)
    if found is None:
        raise ValueError(f"{solver}: no max_iter")
    return int(found.group(1))


def training_batch(prototxt: Path = PLANTED_TRAIN_PROTOTXT) -> int:
    """The batch size of the training net: the first dimension of its ``data`` input."""
    shape = net_inputs(read_prototxt(prototxt)).get("data")
    if not shape:
        raise ValueError(f"{prototxt}: the training net has no 'data' input")
    return shape[0]


def batch_order(n_images: int, steps: int, batch: int, seed: int) -> np.ndarray:
    """Every step's batch, ``(steps, batch)`` int64: epochs of ``RandomState(seed).permutation(n_images)``
    end to end (numpy keeps ``RandomState`` streams fixed across versions), cut into batches."""
    rs = np.random.RandomState(seed)
    needed = steps * batch
    epochs = -(-needed // n_images)
    order = np.concatenate([rs.permutation(n_images) for _ in range(epochs)])
    return order[:needed].reshape(steps, batch).astype(np.int64)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_planted(
    stack: LegacyStack,
    recipe: TrainingRecipe,
    out: Path,
    *,
    threads: int = 1,
    timeout: float = 3600.0,
    snapshots: Sequence[int] = (),
    progress: bool = True,
) -> TrainingRun:
    """Train PlantedCaffeNet by ``recipe`` in ``stack``'s Caffe; Caffe writes the weights to ``out``.

    Only the images the steps use are drawn, so a run of the first few steps of the committed recipe
    is cheap and is exactly that: the first steps of the committed training.  ``snapshots`` lists
    steps after which the weights' SHA-256 is recorded too (``TrainingRun.snapshot_sha256``).
    """
    check_recipe(recipe)
    batch = training_batch()
    order = batch_order(recipe.images, recipe.steps, batch, recipe.order_seed)
    used = np.unique(order)
    data = planted_set(recipe.image_seed, used.tolist(), PLANTED_INPUT_SIZE, progress=progress)
    params = {
        "steps": recipe.steps,
        "mean_bgr": [float(v) for v in CAFFE_MEAN_BGR],
        "labels": list(LABEL_BLOBS),
        "losses": list(LOSS_BLOBS),
        "training_only": list(TRAINING_ONLY),
        "snapshots": sorted(snapshots),
    }
    with tempfile.TemporaryDirectory(prefix="mfv-train-") as tmp:
        folder = Path(tmp)
        arrays = {
            "images": data.images,
            "order": np.searchsorted(used, order),
            "label_label": data.classes,
            "label_facet": data.facets,
        }
        for name, values in arrays.items():
            np.save(folder / f"{name}.npy", values)
        inputs = {name: folder / f"{name}.npy" for name in arrays}
        inputs.update(solver=PLANTED_SOLVER_PROTOTXT, net=PLANTED_TRAIN_PROTOTXT, deploy=PLANTED_CAFFENET_PROTOTXT)
        result = stack.run("train", params, inputs, threads=threads, timeout=timeout, out_dir=folder / "out")
        written = result.files["weights.caffemodel"].read_bytes()
        snapshot_sha256 = {step: sha256(result.files[f"weights_{step}.caffemodel"]) for step in snapshots}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, written)
    return TrainingRun(
        recipe=recipe,
        weights=out,
        sha256=hashlib.sha256(written).hexdigest(),
        losses=result.arrays["losses"],
        correct=result.arrays["correct"],
        batch=batch,
        seconds_per_step=float(result.manifest["job"]["seconds_per_step"]),
        manifest=result.manifest,
        snapshot_sha256=snapshot_sha256,
    )
