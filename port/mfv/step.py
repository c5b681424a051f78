"""One gradient step of the MFV loop on a batch of crops (docs/legacy-spec.md, section 3).

For each crop x (float32, CHW, in the model's input convention ``conv``,
``port.imaging.InputConvention``: Caffe's BGR minus the mean, or
torchvision's normalised RGB) with target layer L and unit u:

1. forward to L; record the best unit, its activation and the target's
   activation (the image *before* this step);
2. g = d top_L[u] / d x, by a one-hot backward from L (conv targets: unit u
   at (y, x));
3. with a margin m > 0, zero g outside rows and columns [m, H - m);
4. in pixel units (grey levels): with the convention's gain
   ``k_c = dx_c / dp_c = scale / (255 std_c)``, the pixel gradient is
   ``g_p = g k`` and ``x += (float32(step_size / float64(mean|g_p|)) * g_p) * k``,
   so that the pixels move by ``step_size`` grey levels on average whatever
   the scale and std - numpy 1.x computed the coefficient of the original
   ``step_size / np.abs(g).mean()`` in float64 and multiplied in float32;
5. clip each channel c to the inputs of pixels 0 and 255,
   [-mean_c / std_c, (scale - mean_c) / std_c];
6. deprocess to float64 RGB pixels, denoise jointly over the channels
   (the TV weight is thus in pixel units too), preprocess back in float32.

For Caffe's convention (scale 255, std 1) k = 1, and every multiplication
and division by 1 is exact: the step is the 2016 step bit for bit, with
bounds [-mean_c, 255 - mean_c] (tests/test_mfv_plumbing.py checks this
against an independent numpy loop).

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

from port.imaging import InputConvention
from port.mfv.backends import LoopOps
from port.mfv.model import VisModel
from port.targets import Target


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


def activations_and_gradient(net: VisModel, crops: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
    """The target's scores (N, C) - at (y, x) for spatial outputs - and d scores[n, unit] / d crop[n]."""
    return net.scores_and_gradient(crops, target)


def mask_margin(grad: torch.Tensor, margin: int) -> torch.Tensor:
    """Zero the gradient outside rows and columns [margin, size - margin)."""
    if margin == 0:
        return grad
    keep = torch.zeros_like(grad)
    keep[:, :, margin : grad.shape[2] - margin, margin : grad.shape[3] - margin] = 1
    return grad * keep


def mfv_step(
    net: VisModel,
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
    conv = net.convention
    ascent = gradient_ascent(crops, grad, step_sizes, legacy, conv)
    denoised = conv.from_rgb64(ops.denoise(conv.to_rgb64(ascent.clipped), weights))
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


def gradient_ascent(
    crops: torch.Tensor, grad: torch.Tensor, step_sizes: Sequence[float], legacy: bool, convention: InputConvention
) -> Ascent:
    """``crops + (float32(step / float64(mean|g k|)) g k) k``, clipped to the pixel range (steps 4-5 above)."""
    gain = convention.pixel_gain(crops)
    pixel_grad = grad * gain
    mean_abs = pixel_grad.abs().double().mean(dim=(1, 2, 3)).float()
    steps = torch.tensor(step_sizes, dtype=torch.float64, device=crops.device)
    coeff = (steps / mean_abs.double()).float()
    guarded = torch.zeros_like(coeff, dtype=torch.bool) if legacy else ~torch.isfinite(coeff)
    coeff = torch.where(guarded, torch.zeros_like(coeff), coeff)
    stepped = crops + (coeff.view(-1, 1, 1, 1) * pixel_grad) * gain
    low, high = convention.bounds(crops)
    return Ascent(stepped, torch.clamp(stepped, low, high), mean_abs, guarded)
