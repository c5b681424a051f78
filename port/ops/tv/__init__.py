"""scikit-image's split-Bregman TV denoiser, exactly, batched: :func:`tv_bregman` and what it returns.

The kernels behind it are private modules: ``_denoise`` (the public entry:
checks, channel layout), ``_split_bregman`` (the iteration and the choice of
kernel), ``_sequential`` (scikit-image's pixel loop compiled
with numba, images and channels as SIMD lanes of :mod:`port.ops._lanes`; the CPU kernel), ``_fft``
with ``_gauss_seidel`` (the FFT-solved form for any device) and ``_frame``
(the ghost cells both share).
"""

from port.ops.tv._denoise import BregmanResult, all_finite, tv_bregman

__all__ = ["BregmanResult", "all_finite", "tv_bregman"]
