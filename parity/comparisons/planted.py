"""What MFV finds on PlantedCaffeNet, measured against the planted ground truth, on both stacks (docs/planted.md).

On held-out images (seed ``HELD_OUT_SEED``, never used in training):

* **accuracy**: the port's and Caffe's predicted class for every image (and
  whether they agree on every one), from one forward pass each;
* **facets recovered**: ``mfv facets`` (``port.facets.make_facets``: fc7
  codes, PCA, t-SNE, k-means, k = the planted facets per class) on each
  class's images, scored by the adjusted Rand index of its clusters against
  the planted facet labels;
* **MFV keeps its facet**: ``mfv visualize --facets`` (the ``mean``
  preset, target ``fc8``, the class's unit; the port, the class's facets in
  one batch) from each recovered facet's mean image; each final image is
  resized to the net's input (the rule ``mfv facets`` reads images by) and
  classified by the port and by Caffe, and its fc7 code is compared with the
  mean fc7 code of each planted facet of the class: the facet is kept when
  the nearest mean (Euclidean) is the planted facet most of the cluster's
  images carry.

That the port's MFV loop is the legacy one on this net is levels 4-5
(``mfv parity run --net planted_caffenet``), not repeated here per facet.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from PIL import Image
from sklearn.metrics import adjusted_rand_score

from parity.comparisons.planted_training import sha256
from parity.judges.verdict import Report, Verdict
from parity.stacks import LegacyStack
from parity.stacks.environment import port_manifest
from port.caffe.network import CaffeNetwork
from port.facets import make_facets
from port.facets.outputs import facet_files
from port.imaging import CAFFE_MEAN_BGR, load_rgb, resize_rgb8
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import preset
from port.models.planted_caffenet import HELD_OUT_SEED, PLANTED_CAFFENET_PROTOTXT, PLANTED_INPUT_SIZE
from port.planted import PLANTED, planted_image, planted_indices
from port.planted.dataset import PlantedSet, planted_set
from port.targets import Target

CODE_BLOB = "fc7"
FACETS_M = 15
FACETS_SEED = 0
MFV_SEED = 1
PROBABILITY_BAR = 0.9
IDENTITY_BAR = 0.8
ACCURACY_BAR = 0.95
ARI_BAR = 0.9
FORWARD_BATCH = 50


@dataclass(frozen=True)
class Predictions:
    """Port's and Caffe's class probabilities ``(N, K)`` and fc7 codes ``(N, D)`` for the same images,
    and the manifest of Caffe's job."""

    port_prob: np.ndarray
    caffe_prob: np.ndarray
    port_codes: np.ndarray
    caffe_codes: np.ndarray
    legacy_manifest: dict

    @property
    def port_class(self) -> np.ndarray:
        return self.port_prob.argmax(axis=1)

    @property
    def caffe_class(self) -> np.ndarray:
        return self.caffe_prob.argmax(axis=1)


@dataclass(frozen=True)
class ClassFacets:
    """``mfv facets`` on one class: cluster labels and planted facet (within the class) per image,
    their ARI, the planted facet most of each cluster's images carry and each cluster's mean image
    (the start of MFV; ``facets_dir`` is gone once the measurement ends)."""

    class_index: int
    name: str
    labels: np.ndarray
    planted: np.ndarray
    ari: float
    cluster_facet: tuple[int, ...]
    mean_images: tuple[np.ndarray, ...]
    facets_dir: Path


@dataclass(frozen=True)
class FacetVisual:
    """MFV from one recovered facet: the final image (uint8 at the net's input size), its probability of
    the class under the port and under Caffe, and the planted facet (within the class) whose mean fc7
    code is nearest the image's code."""

    class_index: int
    cluster: int
    started_from: int
    image: np.ndarray
    probability: tuple[float, float]
    nearest: int

    @property
    def kept(self) -> bool:
        return self.nearest == self.started_from

    @property
    def lowest_probability(self) -> float:
        return min(self.probability)


@dataclass(frozen=True)
class PlantedMeasures:
    """Every figure of the measurement, with the images behind it."""

    held_out: PlantedSet
    predictions: Predictions
    classes: tuple[ClassFacets, ...]
    visuals: tuple[FacetVisual, ...]
    iterations: int

    @property
    def port_accuracy(self) -> float:
        return float(np.mean(self.predictions.port_class == self.held_out.classes))

    @property
    def caffe_accuracy(self) -> float:
        return float(np.mean(self.predictions.caffe_class == self.held_out.classes))

    @property
    def disagreements(self) -> int:
        return int(np.sum(self.predictions.port_class != self.predictions.caffe_class))

    @property
    def identity_rate(self) -> float:
        return float(np.mean([v.kept for v in self.visuals]))

    def failures(self) -> list[str]:
        """Each bar of issue 24 that a figure misses, in words (empty when all hold)."""
        found = []
        for stack, accuracy in (("port", self.port_accuracy), ("Caffe", self.caffe_accuracy)):
            if accuracy < ACCURACY_BAR:
                found.append(f"{stack} held-out accuracy {accuracy:.3f} < {ACCURACY_BAR}")
        if self.disagreements:
            found.append(f"the port and Caffe predict different classes for {self.disagreements} images")
        found += [f"{c.name}: ARI {c.ari:.3f} < {ARI_BAR}" for c in self.classes if c.ari < ARI_BAR]
        found += [
            f"{PLANTED.classes[v.class_index].name} facet {v.cluster}: probability {v.lowest_probability:.3f} "
            f"< {PROBABILITY_BAR}"
            for v in self.visuals
            if v.lowest_probability < PROBABILITY_BAR
        ]
        if self.identity_rate < IDENTITY_BAR:
            found.append(f"MFV kept its facet for {self.identity_rate:.0%} of facets < {IDENTITY_BAR:.0%}")
        return found


def port_blobs(
    net: CaffeNetwork, images: np.ndarray, blobs: tuple[str, ...], batch: int = FORWARD_BATCH
) -> list[np.ndarray]:
    """``blobs`` of the port's net for uint8 RGB ``images``, flattened per image: one forward pass per
    ``batch`` images (as Caffe's ``forward_images`` job), every blob read from it."""
    parts: list[list[np.ndarray]] = [[] for _ in blobs]
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = np.stack([net.convention.preprocess(image) for image in images[start : start + batch]])
            found = net.forward_blobs(torch.from_numpy(x).to(net.device))
            for part, blob in zip(parts, blobs):
                part.append(found[blob].flatten(1).cpu().numpy())
    return [np.concatenate(part) for part in parts]


def _caffe_blobs(
    stack: LegacyStack, weights: Path, images: np.ndarray, blobs: tuple[str, ...], threads: int
) -> tuple[list[np.ndarray], dict]:
    with tempfile.TemporaryDirectory(prefix="mfv-planted-") as tmp:
        path = Path(tmp) / "images.npy"
        np.save(path, images)
        result = stack.run(
            "forward_images",
            {"mean_bgr": [float(v) for v in CAFFE_MEAN_BGR], "blobs": list(blobs), "batch": FORWARD_BATCH},
            {"prototxt": PLANTED_CAFFENET_PROTOTXT, "weights": weights, "images": path},
            threads=threads,
        )
    return [result.arrays[f"blob/{blob}"].reshape(len(images), -1) for blob in blobs], result.manifest


def predict(net: CaffeNetwork, stack: LegacyStack, weights: Path, images: np.ndarray, threads: int = 1) -> Predictions:
    """Class probabilities and fc7 codes of uint8 RGB ``images`` (at the net's size) on both stacks."""
    port_prob, port_codes = port_blobs(net, images, (net.prob_layer, CODE_BLOB))
    (caffe_prob, caffe_codes), manifest = _caffe_blobs(stack, weights, images, (net.prob_layer, CODE_BLOB), threads)
    return Predictions(port_prob, caffe_prob, port_codes, caffe_codes, manifest)


def recover_facets(net: CaffeNetwork, held_out: PlantedSet, class_index: int, work: Path) -> ClassFacets:
    """``mfv facets`` on the class's held-out images, written as PNG files at the spec's size."""
    folder = work / f"class{class_index}-images"
    folder.mkdir(parents=True)
    chosen = np.flatnonzero(held_out.classes == class_index)
    for index in held_out.indices[chosen]:
        Image.fromarray(planted_image(held_out.seed, int(index)).image).save(folder / f"{int(index):06d}.png")
    k = PLANTED.facets_per_class
    result = make_facets(
        net, folder, CODE_BLOB, k, FACETS_M, FACETS_SEED, work / f"class{class_index}-facets", progress=False
    )
    planted = held_out.facets[chosen] % k
    labels = result.clustering.labels
    majority = tuple(int(np.bincount(planted[labels == j], minlength=k).argmax()) for j in range(k))
    return ClassFacets(
        class_index=class_index,
        name=PLANTED.classes[class_index].name,
        labels=labels,
        planted=planted,
        ari=float(adjusted_rand_score(planted, labels)),
        cluster_facet=majority,
        mean_images=tuple(np.asarray(Image.open(path).convert("RGB")) for path in _mean_pngs(result.out_dir, k)),
        facets_dir=result.out_dir,
    )


def _mean_pngs(facets_dir: Path, k: int) -> list[Path]:
    return [facets_dir / facet_files(j)["mean_png"] for j in range(k)]


def _to_input(image: np.ndarray) -> np.ndarray:
    """A final MFV image (float, 0..255, any size) as uint8 RGB at the net's input size."""
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return resize_rgb8(pixels, (PLANTED_INPUT_SIZE, PLANTED_INPUT_SIZE))


def check_images_per_facet(images_per_facet: int) -> None:
    """A ValueError unless a class has at least the ``FACETS_M`` images ``mfv facets`` averages per facet."""
    if images_per_facet * PLANTED.facets_per_class < FACETS_M:
        least = -(-FACETS_M // PLANTED.facets_per_class)
        raise ValueError(f"images per facet {images_per_facet}: at least {least}, for the {FACETS_M} images of a facet")


def measure_planted(
    net: CaffeNetwork,
    stack: LegacyStack,
    weights: Path,
    *,
    images_per_facet: int = 40,
    iterations_scale: float | None = None,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> PlantedMeasures:
    """Every measurement of the module docstring, on ``images_per_facet`` held-out images of each facet."""
    check_images_per_facet(images_per_facet)
    held_out = planted_set(HELD_OUT_SEED, planted_indices(images_per_facet * PLANTED.n_facets), PLANTED_INPUT_SIZE)
    log(f"held-out images: {len(held_out)} of seed {HELD_OUT_SEED}, classified by the port and by Caffe")
    predictions = predict(net, stack, weights, held_out.images, threads)
    octaves = preset("mean", iterations_scale=iterations_scale)
    classes, visuals = [], []
    with tempfile.TemporaryDirectory(prefix="mfv-planted-") as tmp:
        for c in range(len(PLANTED.classes)):
            facets = recover_facets(net, held_out, c, Path(tmp))
            classes.append(facets)
            log(f"{facets.name}: mfv facets, ARI {facets.ari:.3f}; MFV from each facet, classified on both stacks")
            config = MFVConfig(Target(net.class_layer, c), octaves)
            starts = _mean_pngs(facets.facets_dir, PLANTED.facets_per_class)
            visuals += _visuals(net, stack, weights, facets, config, starts, held_out, predictions, threads)
    return PlantedMeasures(held_out, predictions, tuple(classes), tuple(visuals), sum(o.iter_n for o in octaves))


def _visuals(
    net: CaffeNetwork,
    stack: LegacyStack,
    weights: Path,
    facets: ClassFacets,
    config: MFVConfig,
    starts: list[Path],
    held_out: PlantedSet,
    predictions: Predictions,
    threads: int,
) -> list[FacetVisual]:
    runs = run_mfv(net, config, [MFV_SEED] * len(starts), [load_rgb(p) for p in starts], progress=False)
    finals = np.stack([_to_input(run.image) for run in runs])
    judged = predict(net, stack, weights, finals, threads)
    c, k = facets.class_index, len(starts)
    own = held_out.classes == c
    means = np.stack([predictions.port_codes[own & (held_out.facets % k == f)].mean(axis=0) for f in range(k)])
    nearest = np.linalg.norm(judged.port_codes[:, None, :] - means[None], axis=2).argmin(axis=1)
    return [
        FacetVisual(
            class_index=c,
            cluster=j,
            started_from=facets.cluster_facet[j],
            image=finals[j],
            probability=(float(judged.port_prob[j, c]), float(judged.caffe_prob[j, c])),
            nearest=int(nearest[j]),
        )
        for j in range(k)
    ]


@dataclass(frozen=True)
class PlantedInputs:
    """What the measurement ran on: the weights (file and SHA-256), the held-out seed and size,
    and the MFV schedule's length and seeds."""

    weights: str
    weights_sha256: str
    held_out_seed: int
    images_per_facet: int
    mfv_iterations: int
    mfv_seed: int
    facets_seed: int


@dataclass(frozen=True)
class PlantedReport(Report):
    """The measurement as a report: figures, bars (as ``tolerances``) and the verdict."""

    kind: ClassVar[str] = "planted"
    measures: PlantedMeasures

    def sections(self) -> dict:
        m = self.measures
        return {
            "accuracy": {"port": m.port_accuracy, "caffe": m.caffe_accuracy, "disagreements": m.disagreements},
            "max_abs_prob_difference": float(np.abs(m.predictions.port_prob - m.predictions.caffe_prob).max()),
            "classes": [{"class": c.name, "ari": c.ari, "cluster_facet": list(c.cluster_facet)} for c in m.classes],
            "visuals": [
                {
                    "class": PLANTED.classes[v.class_index].name,
                    "cluster": v.cluster,
                    "started_from": v.started_from,
                    "nearest": v.nearest,
                    "kept": v.kept,
                    "probability": {"port": v.probability[0], "caffe": v.probability[1]},
                }
                for v in m.visuals
            ],
            "identity_rate": m.identity_rate,
        }


BARS = {"accuracy": ACCURACY_BAR, "ari": ARI_BAR, "probability": PROBABILITY_BAR, "facet_identity": IDENTITY_BAR}


def planted_report(measures: PlantedMeasures, weights: Path) -> PlantedReport:
    """``measures`` of the net with ``weights``, judged against the bars of issue 24."""
    failures = measures.failures()
    detail = (
        f"accuracy port {measures.port_accuracy:.1%}, Caffe {measures.caffe_accuracy:.1%} "
        f"({measures.disagreements} disagreements); ARI "
        + ", ".join(f"{c.ari:.2f}" for c in measures.classes)
        + f"; MFV kept its facet for {measures.identity_rate:.0%}, lowest probability "
        f"{min(v.lowest_probability for v in measures.visuals):.3f}"
    )
    return PlantedReport(
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        inputs=PlantedInputs(
            weights=str(weights),
            weights_sha256=sha256(weights),
            held_out_seed=measures.held_out.seed,
            images_per_facet=len(measures.held_out) // PLANTED.n_facets,
            mfv_iterations=measures.iterations,
            mfv_seed=MFV_SEED,
            facets_seed=FACETS_SEED,
        ),
        tolerances=BARS,
        environment={"port": port_manifest(), "legacy": measures.predictions.legacy_manifest},
        verdict=Verdict(not failures, detail, failures),
        measures=measures,
    )
