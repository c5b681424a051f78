"""Every published architecture against the real Caffe: one Caffe job per net, batch 1.

The port draws deterministic random weights (``legacy_caffe.random_weights``)
and writes them as a caffemodel; Caffe loads it, runs the net forward and
back from a one-hot at the score blob, and dumps every blob, every max-pool
mask and every diff.  Every blob forward and every diff, the data gradient
included, must be within the tolerance table or (backward) come within it
once the port follows Caffe's choice at max-pool near-ties and ReLU sign
near-ties, each flipped unit within the forward tolerance of zero.
Caffe's blob shapes must equal the port's, which checks every round-up
pooling size, and Caffe's own parameter count of the generated prototxt (its
``net.params`` as dumped) must equal the port's, layer by layer.  The same
Caffe dump judges the ONNX export (``port.onnx``, every blob an output) run on onnxruntime: every blob within
the forward tolerance of Caffe and of the port.
"""

import pytest

from parity.comparisons.layers import make_input, run_layers_parity, run_legacy_layers
from parity.comparisons.onnx_layers import run_onnx_parity
from parity.judges.verdict import FAIL, PASS
from port.caffe import load_net, save_caffemodel
from port.models import NETS, score_target, write_zoo_prototxt
from port.models.caffe_zoo import SCORE_LAYERS

pytestmark = pytest.mark.legacy

SEED = 5


@pytest.mark.parametrize("name", sorted(SCORE_LAYERS))
def test_every_blob_and_diff_against_caffe(legacy_stack, tmp_path, name):
    prototxt = write_zoo_prototxt(name, tmp_path / "deploy.prototxt")
    weights = tmp_path / "weights.caffemodel"
    save_caffemodel(NETS[name](seed=SEED), prototxt, weights)
    net = load_net(prototxt, weights)
    targets = [score_target(name, 7)]
    dump = run_legacy_layers(prototxt, weights, legacy_stack, make_input(net, None, 0)[0], targets)
    report = run_layers_parity(prototxt, weights, legacy_stack, targets=targets, legacy_result=dump, net=net)
    onnx_report = run_onnx_parity(prototxt, weights, legacy_stack, legacy_result=dump, net=net)

    assert report.weights_equal
    port_blobs = net.caffe_params()
    assert dump.manifest["job"]["param_counts"] == [[layer, len(blobs)] for layer, blobs in port_blobs.items()]
    caffe_count = sum(a.size for key, a in dump.arrays.items() if key.startswith("param/"))
    assert caffe_count == sum(b.numel() for blobs in port_blobs.values() for b in blobs)
    for row in report.forward:
        assert row.figures.max_rel <= row.tolerance, row
        assert row.figures.non_finite == 0, row.blob
    assert [r.blob for r in onnx_report.forward] == [r.blob for r in report.forward if r.blob != "data"]
    for row in onnx_report.forward + onnx_report.versus_port:
        assert row.figures.max_rel <= row.tolerance, row
    assert onnx_report.onnx.opset == 17 and onnx_report.verdict.passed, onnx_report.verdict.failures

    (backward,) = report.backward
    for row in backward.blobs:
        assert row.verdict != FAIL, row
        if row.verdict != PASS:
            assert row.with_legacy_argmax.max_rel <= row.tolerance, row
    data = next(r for r in backward.blobs if r.blob == "data")
    assert data.figures.legacy_max > 0
    forward_tolerance = {row.blob: row.tolerance for row in report.forward}
    for layer, flip in report.relu_flips.items():
        assert flip.relative_value <= forward_tolerance[net.step(layer).tops[0]], (layer, flip)
    assert report.verdict.passed, report.verdict.failures
    worst_onnx = max(r.figures.max_rel for r in onnx_report.forward)
    worst_forward = max(r.figures.max_rel for r in report.forward)
    worst_backward = max(r.figures.max_rel for r in backward.blobs)
    followed = data.with_legacy_argmax or data.figures
    print(
        f"{name}: forward {worst_forward:.2g}, data gradient {data.figures.max_rel:.2g} "
        f"({followed.max_rel:.2g} following Caffe's choices), "
        f"worst diff {worst_backward:.2g}, onnxruntime {worst_onnx:.2g}"
    )
    print(f"{name}: {report.verdict.detail}; Caffe's parameter count {caffe_count:,}")
