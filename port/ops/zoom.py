"""``scipy.ndimage.zoom`` of the last two axes, exactly, as two matrix products.

scipy (``ndimage/_interpolation.py`` and ``src/ni_interpolation.c``,
``src/ni_splines.c``; the same in scipy 1.6 and 1.17) zooms an axis of
length ``n`` by a factor ``z`` with the defaults ``mode='constant'``,
``cval=0``, ``prefilter=True``, ``grid_mode=False`` as follows:

* output length ``m = int(round(n * z))`` (Python's ``round``: halves go to
  the even neighbour);
* output sample ``k`` reads the input at ``x_k = k * ((n - 1) / (m - 1))``
  in float64 (``x_k = 0`` when ``m = 1``), so the first and last samples
  align; rounding can put the last ``x_k`` a hair past ``n - 1``;
* with ``mode='constant'`` a sample whose ``x_k`` lies outside ``[0, n - 1]``
  on any axis is ``cval = 0``; no extrapolation;
* for ``order >= 2`` the input is first turned into B-spline coefficients
  ``c`` of degree ``order`` that interpolate it under the whole-sample
  mirror extension ``f[-j] = f[j]``, ``f[n - 1 + j] = f[n - 1 - j]``
  (scipy's recursive filter with exact mirror initialisation solves that
  linear system); orders 0 and 1 use the input as its own coefficients;
* ``y_k = sum_j c[mirror(j)] * beta_order(x_k - j)`` over the ``order + 1``
  knots ``j`` from ``floor(x_k) - order // 2`` (odd orders) or
  ``floor(x_k + 1/2) - order // 2`` (even orders), ``mirror`` the same
  extension, ``beta_order`` the centred B-spline;
* everything in float64, the result cast to the input's dtype.

Each step is linear in the input, so zooming an axis is one matrix
``Z = S @ P`` (``m x n``): ``P`` the inverse of the mirror-extended
interpolation matrix (condition number at most 3 for ``order = 3``), ``S``
the sparse sampling weights.  A (N, C, H, W) tensor is zoomed as
``Z_H @ x @ Z_W^T``: the result differs from scipy by float64 rounding
(about 1e-13 on 0..255 data).  A factor of exactly 1 is still a spline
round trip, as in scipy 1.6 (scipy from 1.16 returns the input unchanged
when every factor is 1, scipy PR 22651); the round trip is the identity up
to that rounding.
"""

from __future__ import annotations

import math
from functools import lru_cache
from numbers import Real

import torch

MAX_ORDER = 5
_FLOAT_DTYPES = (torch.float32, torch.float64)


def zoom(x: torch.Tensor, zoom: float | tuple[float, float], order: int = 3) -> torch.Tensor:
    """``scipy.ndimage.zoom`` of an (N, C, H, W) tensor along H and W (see the module docstring).

    ``zoom`` is one factor for both axes or a pair ``(zoom_h, zoom_w)``;
    ``order`` the spline degree, 0 to 5.  float32 and float64, any device;
    the result has the input's dtype and device.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"x must be a torch.Tensor of shape (N, C, H, W), not {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.dtype not in _FLOAT_DTYPES:
        raise ValueError(f"x must be float32 or float64, got {x.dtype}")
    if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= MAX_ORDER:
        raise ValueError(f"order must be an integer from 0 to {MAX_ORDER}, got {order!r}")
    factors = _factors(zoom)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or infinity")
    (h, w), dtype = x.shape[-2:], x.dtype
    zoom_h = _zoom_matrix(h, _output_length(h, factors[0]), order).to(x.device)
    zoom_w = _zoom_matrix(w, _output_length(w, factors[1]), order).to(x.device)
    return (zoom_h @ x.to(torch.float64) @ zoom_w.T).to(dtype)


def _factors(zoom: float | tuple[float, float]) -> tuple[float, float]:
    pair = tuple(zoom) if isinstance(zoom, (tuple, list)) else (zoom, zoom)
    if len(pair) != 2 or not all(isinstance(z, Real) and not isinstance(z, bool) for z in pair):
        raise ValueError(f"zoom must be a number or a pair (zoom_h, zoom_w), got {zoom!r}")
    if not all(math.isfinite(z) and z > 0 for z in pair):
        raise ValueError(f"zoom factors must be finite and positive, got {zoom!r}")
    return float(pair[0]), float(pair[1])


def _output_length(length: int, factor: float) -> int:
    out = int(round(length * factor))
    if out < 1:
        raise ValueError(f"zoom {factor!r} maps an axis of {length} samples to {out}: nothing to sample")
    return out


@lru_cache(maxsize=32)
def _zoom_matrix(n: int, m: int, order: int) -> torch.Tensor:
    """The float64 (m, n) matrix that zooms one axis of ``n`` samples to ``m`` as scipy does (cached)."""
    step = (n - 1) / (m - 1) if m > 1 else 1.0
    coords = torch.arange(m, dtype=torch.float64) * step
    inside = (coords >= 0) & (coords <= n - 1)
    centre = coords if order % 2 else coords + 0.5
    start = torch.floor(centre).to(torch.int64) - order // 2
    knots = start[:, None] + torch.arange(order + 1)
    weights = _bspline(coords[:, None] - knots, order) * inside[:, None]
    sampling = torch.zeros(m, n, dtype=torch.float64)
    sampling.index_put_((torch.arange(m)[:, None].expand_as(knots), _mirror(knots, n)), weights, accumulate=True)
    if order < 2:
        return sampling
    return sampling @ torch.linalg.inv(_interpolation_matrix(n, order))


def _interpolation_matrix(n: int, order: int) -> torch.Tensor:
    """``A[i, j]``: the weight of coefficient ``j`` in the mirror-extended spline at sample ``i``."""
    half = order // 2 + 1
    rows = torch.arange(n)[:, None].expand(n, 2 * half + 1)
    knots = rows + torch.arange(-half, half + 1)
    matrix = torch.zeros(n, n, dtype=torch.float64)
    values = _bspline((rows - knots).to(torch.float64), order)
    matrix.index_put_((rows, _mirror(knots, n)), values, accumulate=True)
    return matrix


def _mirror(index: torch.Tensor, n: int) -> torch.Tensor:
    """scipy's whole-sample mirror of knot indices into ``[0, n)`` (period ``2n - 2``)."""
    if n == 1:
        return torch.zeros_like(index)
    period = 2 * n - 2
    folded = torch.remainder(index, period)
    return torch.where(folded >= n, period - folded, folded)


def _bspline(x: torch.Tensor, order: int) -> torch.Tensor:
    """Centred B-spline of degree ``order`` at ``x`` (Cox-de Boor recursion, all terms non-negative).

    ``beta_0`` is the indicator of ``[-1/2, 1/2)``, the knot scipy picks for
    ``order = 0`` with ``floor(x + 1/2)``.
    """
    if order == 0:
        return ((x >= -0.5) & (x < 0.5)).to(x.dtype)
    reach = (order + 1) / 2
    return ((reach + x) * _bspline(x + 0.5, order - 1) + (reach - x) * _bspline(x - 0.5, order - 1)) / order
