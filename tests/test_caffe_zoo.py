"""The generated Caffe architectures against published facts, without Caffe.

Parameter counts against torchvision's definitions of the same networks
(Caffe's ResNets also store BatchNorm statistics, one scale factor per
BatchNorm and conv1's bias; every net's count against Caffe's own is in
``tests/test_caffe_zoo_parity.py``), and the blob shapes of the papers'
tables, which need Caffe's round-up pooling.  The nets are built on the meta device: shapes
only, no memory.
"""

import pytest
import torch
import torchvision

from port.caffe.loader import load_net_text
from port.models import NETS, zoo_prototxt
from port.models.zoo import PROTOTXTS

ZOO = sorted(PROTOTXTS)


def _shapes_only(name):
    with torch.device("meta"):
        return load_net_text(zoo_prototxt(name), name)


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", ZOO)
def test_every_architecture_is_registered_by_its_name(name):
    assert NETS[name].__name__ == name
    assert name.startswith("caffe_")


@pytest.mark.parametrize("family", ["vgg16", "vgg19", "squeezenet1_0", "squeezenet1_1"])
def test_parameter_count_equals_torchvisions(family):
    with torch.device("meta"):
        reference = getattr(torchvision.models, family)(weights=None)
    assert _count(_shapes_only(f"caffe_{family}")) == _count(reference)


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_resnet_blobs_are_torchvisions_parameters_plus_batchnorm_statistics(depth):
    with torch.device("meta"):
        reference = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    norms = [m for m in reference.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    statistics = sum(2 * m.num_features + 1 for m in norms)  # mean, variance, scale factor
    net = _shapes_only(f"caffe_resnet{depth}")
    assert _count(net) == _count(reference) + statistics + 64  # + conv1's bias
    assert sum(s.type == "BatchNorm" for s in net.steps) == len(norms)


def test_googlenet_blob_shapes_of_the_papers_table():
    """Szegedy et al. 2014, table 1: output sizes 112, 56, 28, 14, 7 - each stride-2 pool rounds up."""
    shapes = _shapes_only("caffe_googlenet").blob_shapes
    assert shapes["conv1/7x7_s2"] == (1, 64, 112, 112)
    assert shapes["pool1/3x3_s2"] == (1, 64, 56, 56)
    assert shapes["pool2/3x3_s2"] == (1, 192, 28, 28)
    depths = {"3a": 256, "3b": 480, "4a": 512, "4b": 512, "4c": 512, "4d": 528, "4e": 832, "5a": 832, "5b": 1024}
    sizes = {"3": 28, "4": 14, "5": 7}
    for module, depth in depths.items():
        assert shapes[f"inception_{module}/output"] == (1, depth, sizes[module[0]], sizes[module[0]])
    assert shapes["pool5/7x7_s1"] == (1, 1024, 1, 1)


@pytest.mark.parametrize(
    ("name", "pools"),
    [
        ("caffe_resnet50", {"pool1": 56, "pool5": 1}),
        ("caffe_squeezenet1_1", {"pool1": 56, "pool3": 28, "pool5": 14}),
        ("caffe_nin", {"pool0": 27, "pool2": 13, "pool3": 6, "pool4": 1}),
        ("caffe_alexnet", {"pool1": 27, "pool2": 13, "pool5": 6}),
        ("caffe_vgg16", {"pool1": 112, "pool5": 7}),
    ],
)
def test_pooled_sizes_round_up_as_in_the_published_nets(name, pools):
    """ResNet's 112 -> 56, SqueezeNet 1.1's 56 -> 28 -> 14 and NIN's 54 -> 27 need Caffe's ceiling."""
    shapes = _shapes_only(name).blob_shapes
    assert {pool: shapes[pool][2] for pool in pools} == pools


def test_random_weights_are_deterministic_and_described():
    a, b = NETS["caffe_squeezenet1_1"](seed=3), NETS["caffe_squeezenet1_1"](seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert "random" in a.weights_description and "not pretrained" in a.weights_description
