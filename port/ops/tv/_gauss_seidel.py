"""One lexicographic Gauss-Seidel sweep of the split-Bregman u-update, solved in closed form.

scikit-image's split-Bregman denoiser updates every pixel in row-major
order, in place, from its four neighbours: the one above and the one to the
left already hold this sweep's values.  Everything else in the update comes
from the previous sweep, so once that part is collected in a source ``s``
the sweep computes, for rows ``r`` and columns ``c`` from 0,

    u[r, c] = a * (u[r - 1, c] + u[r, c - 1]) + s[r, c],   a = 2/9,
    u = 0 above the first row and left of the first column,

(a = lambda / (weight + 4 lambda) with lambda = 2 weight: the weight
cancels).  That is the lower-triangular system ``(I - a S_r - a S_c) u = s``
(``S_r``, ``S_c`` shift down and right), whose exact solution is the causal
convolution ``u = g * s`` with the lattice-path kernel

    g[p, q] = a^(p + q) * binomial(p + q, p),   p, q >= 0,

whose z-transform is ``1 / (1 - a z_r - a z_c)``; row ``p`` of ``g`` sums
to ``(9/7) (2/7)^p`` (and column ``q`` likewise), so ``g`` decays
geometrically.  The convolution is done
as a product of 2-D real FFTs over a zero-padded ``M_h x M_w`` grid, with
the transfer function sampled exactly on the unit circle.  Circularity
aliases only kernel entries at least ``GUARD + 1`` rows or columns away:
their weight is below ``2 * (9/5) (2/7)^(GUARD + 1) < 5e-18`` of ``max |s|``,
under float64 rounding, so the result is the sequential sweep's up to
rounding (about 1e-15 relative; float32 transforms for float32 input).

Vectorising the sweep any other way (Jacobi, red-black) would change the
iterates, and with them scikit-image's stopping iteration.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

SWEEP_WEIGHT = 2.0 / 9.0
GUARD = 33


def fft_length(n: int) -> int:
    """The smallest 5-smooth length (factors 2, 3, 5 only) of at least ``n + GUARD``."""
    length = n + GUARD
    while True:
        rest = length
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return length
        length += 1


@lru_cache(maxsize=16)
def _transfer(m_h: int, m_w: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``1 / (1 - a e^(-i w_r) - a e^(-i w_c))`` on the ``rfft2`` grid of an ``m_h x m_w`` signal."""
    rows = torch.exp(-2j * math.pi * torch.arange(m_h, dtype=torch.float64) / m_h)
    cols = torch.exp(-2j * math.pi * torch.arange(m_w // 2 + 1, dtype=torch.float64) / m_w)
    transfer = 1.0 / (1.0 - SWEEP_WEIGHT * rows[:, None] - SWEEP_WEIGHT * cols[None, :])
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return transfer.to(dtype=complex_dtype, device=device)


def sweep(source: torch.Tensor) -> torch.Tensor:
    """Solve ``u = a (S_r + S_c) u + source`` over the last two axes (see the module docstring)."""
    h, w = source.shape[-2:]
    m_h, m_w = fft_length(h), fft_length(w)
    spectrum = torch.fft.rfft2(source, s=(m_h, m_w))
    spectrum.mul_(_transfer(m_h, m_w, source.dtype, source.device))
    return torch.fft.irfft2(spectrum, s=(m_h, m_w))[..., :h, :w]
