"""Nets that Caffe refuses at setup are refused by the port with the file, layer and reason."""

import pytest

from port.caffe import CaffeFormatError, load_net

HEAD = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 6 dim: 8 dim: 8 } } }\n'
SECOND = 'layer { name: "small" type: "Input" top: "small" input_param { shape { dim: 1 dim: 6 dim: 5 dim: 5 } } }\n'

CASES = [
    (
        'layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" '
        'slice_param { slice_point: 2 slice_point: 4 } }',
        r"layer 's' \(Slice\): 2 slice_point value\(s\) for 2 tops; expected 1",
    ),
    (
        'layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" slice_param { slice_point: 7 } }',
        r"layer 's' \(Slice\): slice_point \[7\] must increase strictly inside \(0, 6\)",
    ),
    (
        'layer { name: "s" type: "Slice" bottom: "data" top: "a" top: "b" top: "c" top: "d" }',
        r"axis 1 of extent 6 does not split into 4 equal parts",
    ),
    (
        'layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 0 dim: 7 dim: -1 } } }',
        r"layer 'r' \(Reshape\): shape \[0, 7, -1\] cannot take the 384 values",
    ),
    (
        'layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: -1 dim: -1 } } }',
        r"at most one -1",
    ),
    (
        SECOND + 'layer { name: "c" type: "Crop" bottom: "data" bottom: "small" top: "c" crop_param { offset: 4 } }',
        r"layer 'c' \(Crop\): axis 2: offset 4 \+ size 5 exceeds the extent 8",
    ),
    (
        'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" batch_norm_param { use_global_stats: false } }',
        r"layer 'bn' \(BatchNorm\): use_global_stats: false .* is not supported",
    ),
    (
        SECOND + 'layer { name: "sc" type: "Scale" bottom: "data" bottom: "small" top: "sc" }',
        r"layer 'sc' \(Scale\): operand shape \(1, 6, 5, 5\) does not match bottom shape \(1, 6, 8, 8\)",
    ),
    (
        'layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { axis: 2 num_axes: 3 } }',
        r"num_axes 3 from axis 2 does not fit the 4-D bottom",
    ),
    (
        'layer { name: "e" type: "Exp" bottom: "data" top: "e" exp_param { base: -2 } }',
        r"layer 'e' \(Exp\): base must be strictly positive",
    ),
    (
        'layer { name: "d" type: "Deconvolution" bottom: "data" top: "d" '
        'convolution_param { num_output: 4 group: 4 kernel_size: 2 } }',
        r"layer 'd' \(Deconvolution\): num_output 4 and 6 input channels must both divide by group 4",
    ),
    (
        'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { global_pooling: true pad: 1 } }',
        r"global_pooling needs pad 0 and stride 1",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "message"), CASES)
def test_refused_with_file_layer_and_reason(tmp_path, layers, message):
    path = tmp_path / "bad.prototxt"
    path.write_text(HEAD + layers)
    with pytest.raises(CaffeFormatError, match=r"bad\.prototxt: .*" + message):
        load_net(path)


def test_stride_h_w_and_default_stride_do_not_conflict(tmp_path):
    """Caffe reads stride_h/stride_w when given, the (defaulted) stride otherwise."""
    path = tmp_path / "ok.prototxt"
    path.write_text(
        HEAD + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" '
        "pooling_param { pool: AVE kernel_size: 3 stride_h: 2 stride_w: 3 pad_h: 1 } }"
    )
    assert load_net(path).blob_shapes["p"] == (1, 6, 5, 3)
