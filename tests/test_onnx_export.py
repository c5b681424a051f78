"""``mfv export-onnx`` and ``port.onnx``: a valid model, Caffe's blob names, clear refusals.

The numbers of the export are judged against real Caffe in
tests/test_caffe_layer_zoo.py and tests/test_caffe_zoo_parity.py; here
onnxruntime runs the export of the layer zoo (every layer type) against the
port's own forward pass, which is itself within 1e-5 of Caffe.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from mfv_cli.main import main
from parity.comparisons.layers import make_input
from parity.comparisons.onnx_layers import run_onnxruntime
from port.caffe import CaffeFormatError, fill_random, load_net, save_caffemodel
from port.onnx import export_onnx

NETS = Path(__file__).parent / "nets"
ZOO = NETS / "layer_zoo.prototxt"


@pytest.fixture(scope="module")
def zoo_weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "zoo.caffemodel"
    save_caffemodel(fill_random(load_net(ZOO), 11), ZOO, path)
    return path


def test_cli_writes_a_checked_model_named_by_caffe_blobs(tmp_path, capsys, zoo_weights):
    out = tmp_path / "zoo.onnx"
    args = ["export-onnx", "--prototxt", str(ZOO), "--weights", str(zoo_weights), "--out", str(out)]
    assert main(args) == 0
    assert "opset 17" in capsys.readouterr().out
    model = onnx.load(out)
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output] == ["score"]
    assert [i.name for i in model.graph.input] == ["data"]
    assert main([*args, "--all-blobs", "--opset", "13", "--force"]) == 0
    model = onnx.load(out)
    assert model.opset_import[0].version == 13
    assert [o.name for o in model.graph.output] == [b for b in load_net(ZOO).blob_shapes if b != "data"]


def test_every_blob_on_onnxruntime_matches_the_port(zoo_weights):
    net = load_net(ZOO, zoo_weights)
    export = export_onnx(net, all_blobs=True)
    x, _ = make_input(net, None, 0)
    ort = run_onnxruntime(export.model, {"data": x}, threads=1)
    with torch.no_grad():
        port = net.run(torch.from_numpy(x)).blobs
    assert set(ort) == set(port) - {"data"}
    for name, values in ort.items():
        reference = port[name].numpy()
        assert values.shape == reference.shape, name
        assert np.abs(values - reference).max() <= 1e-5 * np.abs(reference).max(), name


def test_bad_opset_is_a_usage_error(tmp_path, capsys, zoo_weights):
    out = tmp_path / "x.onnx"
    code = main(
        ["export-onnx", "--prototxt", str(ZOO), "--weights", str(zoo_weights), "--out", str(out), "--opset", "9"]
    )
    assert code == 2
    assert "opset 9 is outside the supported range 13.." in capsys.readouterr().err
    assert not out.exists()


def test_a_pooling_mask_top_is_refused_naming_the_layer(tmp_path):
    proto = tmp_path / "mask.prototxt"
    proto.write_text(
        'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }\n'
        'layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" top: "mask" '
        "pooling_param { pool: MAX kernel_size: 2 stride: 2 } }"
    )
    with pytest.raises(CaffeFormatError, match=r"mask.prototxt: layer 'pool': a mask top has no ONNX export"):
        export_onnx(load_net(proto))


@pytest.mark.legacy
def test_parity_layers_stack_onnx_writes_a_passing_report(tmp_path, capsys, legacy_stack, zoo_weights):
    """``mfv parity layers --stack onnx``: every blob of the export against Caffe and the port, versions stated."""
    out = tmp_path / "report"
    args = ["parity", "layers", "--stack", "onnx", "--prototxt", str(ZOO), "--weights", str(zoo_weights)]
    assert main([*args, "--opset", "15", "--out", str(out)]) == 0
    assert "PASS: onnxruntime" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "layers-onnx" and report["onnx"]["opset"] == 15
    assert report["onnx"]["onnxruntime_version"] == onnxruntime.__version__
    assert len(report["forward"]) == len(report["versus_port"]) == len(load_net(ZOO).blob_shapes) - 1
    assert all(row["max_rel"] <= row["tolerance"] for row in report["forward"] + report["versus_port"])
    assert "onnxruntime against the port" in (out / "report.html").read_text()
    assert main([*args, "--target", "score:0", "--out", str(tmp_path / "other")]) == 2
    assert "--target needs gradients" in capsys.readouterr().err
