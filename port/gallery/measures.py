"""What the gallery measures on a final image (definitions in docs/gallery.md).

Every measure reads the final image as the net sees a whole picture: the
image clipped to 0..255 and resized to the net's input size (bilinear,
antialiased: ``torch.nn.functional.interpolate``), then preprocessed by the
net's convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from port.mfv.model import VisModel
from port.targets import Target


@dataclass(frozen=True)
class ImageMeasures:
    """One final image: target activation and probability, and the criteria proxies."""

    activation: float
    probability: float
    colour_distance: float
    central_mass: float


def as_input(model: VisModel, images: list[np.ndarray]) -> torch.Tensor:
    """(H, W, 3) RGB images of any size -> (N, 3, h, w) inputs at the net's size, in its convention."""
    resized = []
    for image in images:
        pixels = torch.from_numpy(np.clip(np.nan_to_num(image), 0, 255).astype(np.float32)).permute(2, 0, 1)[None]
        if tuple(pixels.shape[2:]) != model.input_size:
            pixels = F.interpolate(pixels, size=model.input_size, mode="bilinear", antialias=True, align_corners=False)
        resized.append(model.convention.preprocess(pixels[0].permute(1, 2, 0).numpy()))
    return torch.from_numpy(np.stack(resized)).to(model.device)


def colour_statistics(image: np.ndarray) -> np.ndarray:
    """Mean and standard deviation of each RGB channel, in grey levels: (mean_r, mean_g, mean_b, std_r, ...)."""
    pixels = np.clip(np.nan_to_num(image), 0, 255).reshape(-1, 3).astype(np.float64)
    return np.concatenate([pixels.mean(axis=0), pixels.std(axis=0)])


def colour_distance(image: np.ndarray, start: np.ndarray) -> float:
    """``|| colour_statistics(image) - colour_statistics(start) ||_2``: how far the colours moved from the start's."""
    return float(np.linalg.norm(colour_statistics(image) - colour_statistics(start)))


def central_mass(grad: torch.Tensor) -> float:
    """Share of the gradient's mass sum_c |g_c| in the central box, rows and columns [s/4, 3s/4): 0.25 if uniform."""
    mass = grad.abs().sum(dim=0).double()
    h, w = mass.shape
    inner = mass[h // 4 : (3 * h) // 4, w // 4 : (3 * w) // 4].sum()
    return float(inner / mass.sum()) if float(mass.sum()) > 0 else float("nan")


def measure(model: VisModel, unit: int, finals: list[np.ndarray], starts: list[np.ndarray]) -> list[ImageMeasures]:
    """The measures of each final image against its start image."""
    x = as_input(model, finals)
    scores, grad = model.scores_and_gradient(x, Target(model.class_layer, unit))
    probability = torch.softmax(scores.double(), dim=1)[:, unit]
    return [
        ImageMeasures(
            float(scores[n, unit]),
            float(probability[n]),
            colour_distance(final, start),
            central_mass(grad[n]),
        )
        for n, (final, start) in enumerate(zip(finals, starts))
    ]


def diversity(codes: torch.Tensor) -> tuple[float, float]:
    """Mean pairwise Euclidean distance of the codes (N, D), over the N(N-1)/2 pairs, and that mean divided
    by the codes' mean norm (comparable across networks); NaN for fewer than two codes."""
    if len(codes) < 2:
        return float("nan"), float("nan")
    codes = codes.double().flatten(1)
    distances = torch.pdist(codes)
    mean = float(distances.mean())
    return mean, mean / float(codes.norm(dim=1).mean())


def penultimate_diversity(model: VisModel, finals: list[np.ndarray]) -> tuple[float, float]:
    """:func:`diversity` of the final images' penultimate codes (``model.penultimate``)."""
    return diversity(model.codes(as_input(model, finals), model.penultimate))
