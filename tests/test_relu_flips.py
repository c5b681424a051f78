"""``parity.judges.relu_flips.follow_flips``: a flip that appears only once the port follows an earlier one.

Two in-place ReLUs around ``b = 2 a + 1`` (a Power layer), input ``-0.5``.
Say Caffe switched both units on.  The port switches ``r1`` off (``a = 0``),
so ``b = 1`` and ``r2`` agrees with Caffe: the unforced pass sees one flip.
Following Caffe at ``r1`` passes ``a = -0.5``, so ``b = 2 (-0.5) + 1 = 0``
and the port switches ``r2`` off: a second flip, found only in that pass.
"""

import numpy as np
import torch

from parity.judges.relu_flips import find_flips, follow_flips
from port.caffe.loader import load_net_text

CHAIN = """
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 1 dim: 1 } } }
layer { name: "a" type: "Power" bottom: "data" top: "a" }
layer { name: "r1" type: "ReLU" bottom: "a" top: "a" }
layer { name: "b" type: "Power" bottom: "a" top: "b" power_param { scale: 2 shift: 1 } }
layer { name: "r2" type: "ReLU" bottom: "b" top: "b" }
"""
CAFFE_ON = {"r1": np.ones((1, 1, 1, 1), bool), "r2": np.ones((1, 1, 1, 1), bool)}


def test_a_flip_below_a_followed_flip_is_found_in_network_order():
    net = load_net_text(CHAIN, "chain")
    x = torch.full((1, 1, 1, 1), -0.5)
    with torch.no_grad():
        unforced = net.run(x)
    assert float(unforced.blobs["b"]) == 1.0
    assert list(find_flips(net, unforced.blobs, CAFFE_ON)) == ["r1"]

    flips = follow_flips(net, x, CAFFE_ON)
    assert list(flips) == ["r1", "r2"]
    assert [f.units for f in flips.values()] == [1, 1]
    assert flips["r2"].max_abs_value == 0.0 and flips["r2"].blob_max == 0.0
    with torch.no_grad():
        followed = net.run(x, relu_active={k: torch.from_numpy(v) for k, v in CAFFE_ON.items()})
    assert float(followed.blobs["b"]) == 0.0


def test_units_that_agree_give_an_empty_table():
    net = load_net_text(CHAIN, "chain")
    assert follow_flips(net, torch.full((1, 1, 1, 1), 0.25), CAFFE_ON) == {}
