"""Every layer type the Caffe model zoo needs, against the real Caffe, in one net and two Caffe jobs.

``tests/nets/layer_zoo.prototxt`` chains Deconvolution, PReLU (per channel
and shared), ELU, Sigmoid, TanH, AbsVal, BNLL, Exp, Log, Power, BatchNorm
(global and batch statistics), Scale (learned with bias, and by a second
bottom), Bias, Slice, Reshape, Crop, Eltwise (PROD, SUM with coefficients,
MAX), WITHIN_CHANNEL LRN, Pooling (AVE with pads and Caffe's divisor, global,
MAX rounding up), Convolution (group, dilation, per-axis kernel/stride/pad,
no bias), InnerProduct (axis, transpose), Softmax and Flatten on axes other
than 1.  Caffe's own ``net.save`` writes the weights (from
``legacy_caffe.random_weights``), its forward gives every blob and its
backward from one-hots at ``score`` and inside ``crop`` every diff.  The
same dump judges the net's ONNX export on onnxruntime.
"""

from pathlib import Path

import pytest

from parity.comparisons.layers import make_input, run_layers_parity, run_legacy_layers
from parity.comparisons.onnx_layers import run_onnx_parity
from parity.judges.verdict import PASS, POOL_TIE
from port.caffe import Target, fill_random, load_net, read_prototxt, read_weights

pytestmark = pytest.mark.legacy

ZOO = Path(__file__).parent / "nets" / "layer_zoo.prototxt"
SEED = 11
NEW_TYPES = {
    "Deconvolution", "PReLU", "ELU", "Sigmoid", "TanH", "AbsVal", "BNLL", "Exp", "Log", "Power",
    "BatchNorm", "Scale", "Bias", "Slice", "Reshape", "Crop", "Eltwise", "LRN", "Pooling",
    "Convolution", "InnerProduct", "Softmax", "Flatten", "Concat",
}  # fmt: skip


@pytest.fixture(scope="module")
def zoo(legacy_stack, tmp_path_factory):
    """Caffe-written weights and the layers report (forward, and backward from score:0 and crop:1:3:2)."""
    made = legacy_stack.run(
        "make_weights", {"seed": SEED}, {"prototxt": ZOO}, out_dir=tmp_path_factory.mktemp("zoo") / "made"
    )
    weights = made.files["weights.caffemodel"]
    targets = [Target("score", 0), Target("crop", 1, 3, 2)]
    net = load_net(ZOO, weights)
    dump = run_legacy_layers(ZOO, weights, legacy_stack, make_input(net, None, 0)[0], targets)
    report = run_layers_parity(ZOO, weights, legacy_stack, targets=targets, legacy_result=dump, net=net)
    return weights, report, run_onnx_parity(ZOO, weights, legacy_stack, legacy_result=dump, net=net)


def test_the_zoo_net_holds_every_new_layer_type():
    types = {layer.type for layer in read_prototxt(ZOO).layer}
    assert NEW_TYPES <= types


def test_caffe_saved_the_weights_the_port_draws(zoo):
    """BatchNorm's running sums and scale factor and Scale's blobs included (legacy_caffe.random_weights)."""
    weights, report, _ = zoo
    port = fill_random(load_net(ZOO), SEED)
    saved = read_weights(weights)
    assert set(saved) == set(port.caffe_params())
    for layer, blobs in port.caffe_params().items():
        for mine, theirs in zip(blobs, saved[layer], strict=True):
            assert mine.numpy().tobytes() == theirs.reshape(tuple(mine.shape)).tobytes(), layer
    assert report.weights_equal
    assert saved["bn"][2].reshape(()) > 0 and (saved["bn"][1] > 0).all()


def test_every_blob_forward_matches_caffe_shape_and_value(zoo):
    _, report, _ = zoo
    port_net = load_net(ZOO)
    assert [r.blob for r in report.forward] == list(port_net.blob_shapes)
    for row in report.forward:
        assert tuple(row.figures.shape) == port_net.blob_shapes[row.blob], row.blob
        assert row.figures.max_rel <= row.tolerance == 1e-5, row
        assert row.local is None or row.local.max_rel <= 1e-5, row
        assert row.figures.non_finite == 0


def test_every_diff_matches_caffe(zoo):
    _, report, _ = zoo
    assert [b.target for b in report.backward] == ["score:0", "crop:1:3:2"]
    score, crop = report.backward
    assert {r.blob for r in score.blobs} == set(load_net(ZOO).blob_shapes)
    assert all(r.figures.legacy_max > 0 for r in score.blobs), "every blob reaches score"
    assert {r.blob for r in crop.blobs if r.figures.legacy_max > 0} >= {"deconv", "emax", "prelu", "sc", "data"}
    for target in report.backward:
        for row in target.blobs:
            assert row.verdict in (PASS, POOL_TIE), (target.target, row)
            bound = row.figures if row.verdict == PASS else row.with_legacy_argmax
            assert bound.max_rel <= row.tolerance == 1e-5, (target.target, row)
    assert report.verdict.passed, report.verdict.failures


def test_onnx_export_on_onnxruntime_matches_caffe_and_the_port(zoo):
    """Every layer type exported (opset 17), every blob a graph output, each within tolerance."""
    _, report, onnx_report = zoo
    assert [r.blob for r in onnx_report.forward] == [r.blob for r in report.forward if r.blob != "data"]
    for row in onnx_report.forward + onnx_report.versus_port:
        assert row.figures.max_rel <= row.tolerance == 1e-5, row
    assert onnx_report.weights_equal and onnx_report.verdict.passed, onnx_report.verdict.failures
    assert onnx_report.as_dict()["onnx"]["onnxruntime_version"]
