"""One gradient step of the MFV loop on a batch of crops (docs/legacy-spec.md, section 3).

For each crop x (float32, CHW, BGR minus the mean) with target layer L and
unit u:

1. forward to L; record the best unit, its activation and the target's
   activation (the image *before* this step);
2. g = d top_L[u] / d x, by a one-hot backward from L (conv targets: unit u
   at (y, x));
3. with a margin m > 0, zero g outside rows and columns [m, H - m);
4. ``x += float32(step_size / float64(mean|g|)) * g`` - numpy 1.x computed
   the coefficient of the original ``step_size / np.abs(g).mean()`` in
   float64 and multiplied in float32;
5. clip each channel c to [-mean_c, 255 - mean_c];
6. deprocess to float64 RGB, denoise jointly over the channels,
   ``float32(...) - mean`` back.

mean|g| is summed in float64 and rounded to float32 (numpy summed float32
pairwise): the order of a reduction can change with the batch size, and in
float64 that reaches the float32 result only at a rounding tie.

Legacy mode divides by mean|g| whatever it is: a zero gradient (a
saturated softmax) turns the crop into NaN, as in 2016.  Otherwise the
step is guarded: a zero or non-finite mean|g| leaves the crop unstepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from port.caffe import CaffeNetwork, Target
from port.imaging import CAFFE_MEAN_BGR
from port.mfv.backends import LoopOps

MEAN_BGR = torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)


@dataclass(frozen=True)
class StepRecord:
    """What one step saw and did, for one crop."""

    best_unit: int
    best_act: float
    target_act: float
    mean_abs_grad: float
    guarded: bool


@dataclass
class StepStages:
    """Every intermediate of a batch step, (N, 3, H, W) float32; for lockstep parity."""

    gradient: torch.Tensor
    stepped: torch.Tensor
    clipped: torch.Tensor
    denoised: torch.Tensor


def activations_and_gradient(
    net: CaffeNetwork, crops: torch.Tensor, target: Target
) -> tuple[torch.Tensor, torch.Tensor]:
    """The target layer's top (N, C) - at (y, x) for conv tops - and d top[n, unit] / d crop[n]."""
    leaf = crops.detach().requires_grad_(True)
    with torch.enable_grad():
        top = net.run(leaf, end=target.layer).blobs[net.step(target.layer).tops[0]]
        scores = top if top.dim() == 2 else top[:, :, target.y, target.x]
        (grad,) = torch.autograd.grad(scores[:, target.unit].sum(), leaf)
    return scores.detach(), grad


def mask_margin(grad: torch.Tensor, margin: int) -> torch.Tensor:
    """Zero the gradient outside rows and columns [margin, size - margin)."""
    if margin == 0:
        return grad
    keep = torch.zeros_like(grad)
    keep[:, :, margin : grad.shape[2] - margin, margin : grad.shape[3] - margin] = 1
    return grad * keep


def to_rgb64(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) BGR minus mean, float32 -> (N, H, W, 3) RGB float64: ``deprocess(x).astype(float64)``."""
    return (x + MEAN_BGR.to(x.device)).flip(1).permute(0, 2, 3, 1).double()


def from_rgb64(rgb: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) RGB float64 -> (N, 3, H, W) float32: ``float32(CHW BGR) - mean``."""
    return rgb.flip(3).permute(0, 3, 1, 2).float().contiguous() - MEAN_BGR.to(rgb.device)


def mfv_step(
    net: CaffeNetwork,
    crops: torch.Tensor,
    target: Target,
    margin: int,
    step_sizes: Sequence[float],
    weights: Sequence[float],
    ops: LoopOps,
    legacy: bool,
) -> tuple[torch.Tensor, list[StepRecord], StepStages]:
    """One step on every crop of the batch; returns the new crops, a record per crop and the stages."""
    scores, grad = activations_and_gradient(net, crops, target)
    grad = mask_margin(grad, margin)
    ascent = gradient_ascent(crops, grad, step_sizes, legacy)
    denoised = from_rgb64(ops.denoise(to_rgb64(ascent.clipped), weights))
    best = scores.argmax(dim=1)
    records = [
        StepRecord(
            int(best[n]),
            float(scores[n, best[n]]),
            float(scores[n, target.unit]),
            float(ascent.mean_abs_grad[n]),
            bool(ascent.guarded[n]),
        )
        for n in range(crops.shape[0])
    ]
    return denoised, records, StepStages(grad, ascent.stepped, ascent.clipped, denoised)


@dataclass
class Ascent:
    """Steps 4-5 of a batch: the stepped and clipped crops, each crop's mean |g| and whether it was guarded."""

    stepped: torch.Tensor
    clipped: torch.Tensor
    mean_abs_grad: torch.Tensor
    guarded: torch.Tensor


def gradient_ascent(crops: torch.Tensor, grad: torch.Tensor, step_sizes: Sequence[float], legacy: bool) -> Ascent:
    """``crops + float32(step / float64(mean|g|)) g``, clipped to the pixel range (steps 4-5 above)."""
    mean_abs = grad.abs().double().mean(dim=(1, 2, 3)).float()
    steps = torch.tensor(step_sizes, dtype=torch.float64, device=crops.device)
    coeff = (steps / mean_abs.double()).float()
    guarded = torch.zeros_like(coeff, dtype=torch.bool) if legacy else ~torch.isfinite(coeff)
    coeff = torch.where(guarded, torch.zeros_like(coeff), coeff)
    stepped = crops + coeff.view(-1, 1, 1, 1) * grad
    mean = MEAN_BGR.to(crops.device)
    return Ascent(stepped, torch.clamp(stepped, -mean, 255 - mean), mean_abs, guarded)
