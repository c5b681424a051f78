"""Direct loop transcriptions of Caffe 1.0's CPU pooling and LRN passes, forward and backward.

Slow, obvious reference code for the vectorised ``port.ops`` kernels; the
integration tests check both against the real Caffe.
"""

from __future__ import annotations

import math

import numpy as np


def pool_loops(x: np.ndarray, kernel: int, stride: int, pad: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``PoolingLayer::Forward_cpu`` for square windows: values and (MAX) flat argmax."""
    n, c, h, w = x.shape
    out_h = int(math.ceil((h + 2 * pad - kernel) / stride)) + 1
    out_w = int(math.ceil((w + 2 * pad - kernel) / stride)) + 1
    if pad:
        out_h -= (out_h - 1) * stride >= h + pad
        out_w -= (out_w - 1) * stride >= w + pad
    values = np.zeros((n, c, out_h, out_w), np.float64)
    argmax = np.full((n, c, out_h, out_w), -1, np.int64)
    for b in range(n):
        for ch in range(c):
            for ph in range(out_h):
                for pw in range(out_w):
                    hstart, wstart = ph * stride - pad, pw * stride - pad
                    hend, wend = min(hstart + kernel, h + pad), min(wstart + kernel, w + pad)
                    pool_size = (hend - hstart) * (wend - wstart)
                    hstart, wstart, hend, wend = max(hstart, 0), max(wstart, 0), min(hend, h), min(wend, w)
                    if method == "max":
                        best = -np.inf
                        for i in range(hstart, hend):
                            for j in range(wstart, wend):
                                if x[b, ch, i, j] > best:
                                    best, argmax[b, ch, ph, pw] = x[b, ch, i, j], i * w + j
                        values[b, ch, ph, pw] = best
                    else:
                        values[b, ch, ph, pw] = x[b, ch, hstart:hend, wstart:wend].sum() / pool_size
    return values, argmax


def max_pool_backward_loops(shape: tuple[int, ...], argmax: np.ndarray, top_diff: np.ndarray) -> np.ndarray:
    """``PoolingLayer::Backward_cpu`` for MAX: each top diff added to the bottom at its mask, in top order."""
    n, c, h, w = shape
    bottom_diff = np.zeros((n, c, h * w), top_diff.dtype)
    for b in range(n):
        for ch in range(c):
            for index, diff in zip(argmax[b, ch].ravel(), top_diff[b, ch].ravel()):
                bottom_diff[b, ch, index] += diff
    return bottom_diff.reshape(shape)


def lrn_across_loops(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    """``LRNLayer::CrossChannelForward_cpu``."""
    c = x.shape[1]
    pre = (size - 1) // 2
    out = np.empty_like(x, dtype=np.float64)
    for ch in range(c):
        lo, hi = max(ch - pre, 0), min(ch - pre + size, c)
        scale = k + alpha / size * (x[:, lo:hi].astype(np.float64) ** 2).sum(axis=1)
        out[:, ch] = x[:, ch] * scale**-beta
    return out


def lrn_across_backward_loops(x: np.ndarray, top_diff: np.ndarray, size: int, alpha: float, beta: float, k: float):
    """``LRNLayer::CrossChannelBackward_cpu`` in float64: the bottom diff, with Caffe's running window sum of
    ``top_diff * top_data / scale`` (add the head, use, drop the tail)."""
    x, top_diff = x.astype(np.float64), top_diff.astype(np.float64)
    n, c = x.shape[:2]
    pre = (size - 1) // 2
    scale = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(ch - pre, 0), min(ch - pre + size, c)
        scale[:, ch] = k + alpha / size * (x[:, lo:hi] ** 2).sum(axis=1)
    top = x * scale**-beta
    bottom_diff = top_diff * scale**-beta
    padded_ratio = np.zeros((n, c + size - 1) + x.shape[2:])
    padded_ratio[:, pre : pre + c] = top_diff * top / scale
    cache_ratio = 2.0 * alpha * beta / size
    for b in range(n):
        accum = padded_ratio[b, : size - 1].sum(axis=0)
        for ch in range(c):
            accum = accum + padded_ratio[b, ch + size - 1]
            bottom_diff[b, ch] -= cache_ratio * x[b, ch] * accum
            accum = accum - padded_ratio[b, ch]
    return bottom_diff
