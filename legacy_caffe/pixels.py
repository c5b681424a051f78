"""uint8 RGB images to Caffe-convention input, the rule the port's ``port.imaging.CAFFE`` follows.

``(N, H, W, 3)`` RGB becomes ``(N, 3, H, W)`` BGR float32 less the mean per
channel: exact in float32 (integers less integers), so both stacks feed the
net the same numbers.  Python 2.7-compatible; numpy only.
"""

from __future__ import absolute_import, division, print_function

import numpy as np


def caffe_input(images, mean_bgr):
    """``images`` uint8 ``(N, H, W, 3)`` RGB as float32 ``(N, 3, H, W)`` BGR less ``mean_bgr``."""
    mean = np.asarray(mean_bgr, dtype=np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray(images[:, :, :, ::-1].transpose(0, 3, 1, 2), dtype=np.float32) - mean
