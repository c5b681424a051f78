"""The polyphase input gradient of a strided convolution against PyTorch's own backward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from port.models import caffenet
from port.ops import strided_conv2d

GEOMETRIES = [
    # kernel, stride, pad, groups, input (H, W): CaffeNet's conv1; uneven strides and pads;
    # kernels shorter than the stride (rows no window reaches); kernels not a multiple of the stride
    ((11, 11), (4, 4), (0, 0), 1, (227, 227)),
    ((3, 5), (2, 3), (1, 2), 2, (17, 18)),
    ((1, 1), (2, 2), (0, 0), 1, (9, 10)),
    ((2, 2), (3, 3), (1, 0), 3, (10, 11)),
    ((7, 7), (2, 2), (3, 3), 1, (20, 21)),
]


def _inputs(kernel, groups, size, dtype):
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3 * groups, *size, generator=generator, dtype=dtype)
    w = torch.randn(4 * groups, 3, *kernel, generator=generator, dtype=dtype)
    b = torch.randn(4 * groups, generator=generator, dtype=dtype)
    return x, w, b


@pytest.mark.parametrize(("kernel", "stride", "pad", "groups", "size"), GEOMETRIES)
def test_forward_is_conv2d_and_gradients_match_pytorch_in_float64(kernel, stride, pad, groups, size):
    x, w, b = (t.requires_grad_() for t in _inputs(kernel, groups, size, torch.float64))
    ours = strided_conv2d(x, w, b, stride, pad, groups)
    theirs = F.conv2d(x, w, b, stride, pad, 1, groups)
    assert torch.equal(ours, theirs)
    gy = torch.randn(ours.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    for mine, reference in zip(torch.autograd.grad(ours, (x, w, b), gy), torch.autograd.grad(theirs, (x, w, b), gy)):
        torch.testing.assert_close(mine, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("kernel", "stride", "pad", "groups", "size"), GEOMETRIES[1:])
def test_gradcheck(kernel, stride, pad, groups, size):
    x, w, b = (t.requires_grad_() for t in _inputs(kernel, groups, size, torch.float64))
    assert torch.autograd.gradcheck(lambda *a: strided_conv2d(*a, stride, pad, groups), (x, w, b))


def test_caffenet_conv1_float32_within_the_summation_error_bound():
    """On CaffeNet's conv1 with ten crops (the MFV batch), the float32 input gradient is within
    Higham's bound for a sum of n products, |error| <= gamma_n * sum |w| |gy| with
    gamma_n = n u / (1 - n u), u = 2**-24 and n = 96 * 3 * 3 taps per phase (plus one for the
    final cut), computed in float64 from the same formula with |w| and |gy|."""
    weight = caffenet(seed=3).layers["conv1"].weight.detach()
    gy = torch.randn(10, 96, 55, 55, generator=torch.Generator().manual_seed(2))

    def input_grad(w, g):
        x = torch.zeros(10, 3, 227, 227, dtype=w.dtype, requires_grad=True)
        (grad,) = torch.autograd.grad(strided_conv2d(x, w, None, (4, 4), (0, 0), 1), x, g)
        return grad

    exact = input_grad(weight.double(), gy.double())
    magnitude = input_grad(weight.double().abs(), gy.double().abs())
    n, u = 96 * 3 * 3 + 1, 2.0**-24
    error = (input_grad(weight, gy).double() - exact).abs()
    assert bool((error <= n * u / (1 - n * u) * magnitude).all())
    assert error.max() > 0
