"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016): "fire" modules, no fully connected layer.

A fire module squeezes with 1x1 convolutions, then expands with 1x1 and
3x3 convolutions whose outputs are concatenated.  Version 1.1 starts with a
3x3/64 convolution instead of 7x7/96 and pools earlier.  Version 1.0's
pools divide exactly (111 -> 55 -> 27 -> 13); 1.1's last two round up
(113 -> 56, then 56 -> 28 and 28 -> 14 where flooring gives 27 and 13).
"""

from __future__ import annotations

from port.models.zoo import text as t

# fire index -> (squeeze, expand) widths; both expand branches have the expand width.
FIRES = {2: (16, 64), 3: (16, 64), 4: (32, 128), 5: (32, 128), 6: (48, 192), 7: (48, 192), 8: (64, 256), 9: (64, 256)}


def _fire(index: int, bottom: str) -> tuple[list[str], str]:
    squeeze, expand = FIRES[index]
    f = f"fire{index}"
    layers = [
        t.conv(f"{f}/squeeze1x1", bottom, squeeze, 1),
        t.relu(f"{f}/relu_squeeze1x1", f"{f}/squeeze1x1"),
        t.conv(f"{f}/expand1x1", f"{f}/squeeze1x1", expand, 1),
        t.relu(f"{f}/relu_expand1x1", f"{f}/expand1x1"),
        t.conv(f"{f}/expand3x3", f"{f}/squeeze1x1", expand, 3, pad=1),
        t.relu(f"{f}/relu_expand3x3", f"{f}/expand3x3"),
        t.concat(f"{f}/concat", [f"{f}/expand1x1", f"{f}/expand3x3"]),
    ]
    return layers, f"{f}/concat"


def squeezenet_prototxt(version: str) -> str:
    """Deploy net ``"1.0"`` or ``"1.1"``, input 1 x 3 x 227 x 227; top ``prob`` (1 x 1000 x 1 x 1)."""
    if version == "1.0":
        conv1, pools_after = t.conv("conv1", "data", 96, 7, stride=2), (4, 8)
    elif version == "1.1":
        conv1, pools_after = t.conv("conv1", "data", 64, 3, stride=2), (3, 5)
    else:
        raise ValueError(f"SqueezeNet version {version!r}: 1.0 or 1.1")
    layers = [conv1, t.relu("relu_conv1", "conv1"), t.max_pool("pool1", "conv1", 3, 2)]
    blob = "pool1"
    for index in FIRES:
        fire, blob = _fire(index, blob)
        layers += fire
        if index in pools_after:
            layers.append(t.max_pool(f"pool{index}", blob, 3, 2))
            blob = f"pool{index}"
    layers += [
        t.dropout("drop9", blob, 0.5),
        t.conv("conv10", blob, 1000, 1),
        t.relu("relu_conv10", "conv10"),
        t.global_ave_pool("pool10", "conv10"),
        t.softmax("prob", "pool10"),
    ]
    return t.net(f"SqueezeNet {version}", (1, 3, 227, 227), layers)
