"""Caffe's protobuf schema for nets, rebuilt at import time without Caffe.

The table below restates, message by message, the part of ``caffe.proto``
that describes networks: every message reachable from ``NetParameter``,
including the deprecated V1 and V0 layer messages, with Caffe's field names,
numbers, types, labels, packing, defaults and enum values.  Message names are
Caffe's too, so the text format (prototxt) and the binary format (caffemodel)
of this schema are Caffe's.  Messages that never occur in a net file
(``SolverParameter``, ``SolverState``, ``Datum``, ``BlobProtoVector``) are
left out.

The reference is the ``caffe.proto`` of Caffe 1.0 as packaged by Debian
bullseye (``python3-caffe``), the Caffe the project's parity runs use;
``tests/test_caffe_schema.py`` compares every field and enum value defined
here with that Caffe's own ``caffe_pb2``.

The table is compiled into a ``FileDescriptorProto``, registered in a private
``DescriptorPool`` (so it can never clash with a real ``caffe_pb2`` imported
into the same process) and turned into message classes, which this module
exposes under Caffe's names: :data:`NetParameter`, :data:`LayerParameter`,
:data:`BlobProto` and so on; :func:`message_class` returns any other.

The end of the module states how V1 layers (``NetParameter.layers``,
``V1LayerParameter``) correspond to current ones (``NetParameter.layer``,
``LayerParameter``), for the reader's upgrade and the writer's downgrade.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import NamedTuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

__all__ = [
    "V1_COMMON_LAYER_FIELDS",
    "V1_LAYER_TYPES",
    "V1_PARAM_SPEC_FIELDS",
    "BlobProto",
    "BlobShape",
    "ConcatParameter",
    "ConvolutionParameter",
    "DropoutParameter",
    "EltwiseParameter",
    "FillerParameter",
    "FlattenParameter",
    "InnerProductParameter",
    "InputParameter",
    "LRNParameter",
    "LayerParameter",
    "LossParameter",
    "NetParameter",
    "NetState",
    "NetStateRule",
    "ParamSpec",
    "PoolingParameter",
    "ReLUParameter",
    "SoftmaxParameter",
    "TransformationParameter",
    "V1LayerParameter",
    "copy_fields",
    "message_class",
]

PACKAGE = "caffe"

# Field labels; PACKED is a repeated scalar field declared ``[packed = true]``.
OPTIONAL = "optional"
REPEATED = "repeated"
PACKED = "packed"
REQUIRED = "required"


class Field(NamedTuple):
    """One field of a message, as ``caffe.proto`` declares it.

    Attributes:
        name: Field name.
        number: Field number (the wire-format tag).
        type: A scalar type (``"float"``, ``"uint32"``, ...), or the name of
            an enum of the same message, a file-level enum or a message.
        label: :data:`OPTIONAL`, :data:`REPEATED`, :data:`PACKED` or
            :data:`REQUIRED`.
        default: The explicit ``[default = ...]``, if any; enum defaults are
            given by value name.
    """

    name: str
    number: int
    type: str
    label: str = OPTIONAL
    default: bool | int | float | str | None = None


class MessageSpec(NamedTuple):
    """A message: its fields in declaration order and its nested enums."""

    fields: tuple[Field, ...]
    enums: Mapping[str, Mapping[str, int]]


def _message(*fields: Field, enums: Mapping[str, Mapping[str, int]] | None = None) -> MessageSpec:
    return MessageSpec(fields, enums or {})


_ENGINE = {"DEFAULT": 0, "CAFFE": 1, "CUDNN": 2}
_POOL_METHOD = {"MAX": 0, "AVE": 1, "STOCHASTIC": 2}
_DIM_CHECK_MODE = {"STRICT": 0, "PERMISSIVE": 1}

# V1LayerParameter.LayerType, in declaration order: value name, number and the
# type string that Caffe's UpgradeV1LayerType gives the layer in a V2 net.
_V1_LAYER_TYPES = (
    ("NONE", 0, ""),
    ("ABSVAL", 35, "AbsVal"),
    ("ACCURACY", 1, "Accuracy"),
    ("ARGMAX", 30, "ArgMax"),
    ("BNLL", 2, "BNLL"),
    ("CONCAT", 3, "Concat"),
    ("CONTRASTIVE_LOSS", 37, "ContrastiveLoss"),
    ("CONVOLUTION", 4, "Convolution"),
    ("DATA", 5, "Data"),
    ("DECONVOLUTION", 39, "Deconvolution"),
    ("DROPOUT", 6, "Dropout"),
    ("DUMMY_DATA", 32, "DummyData"),
    ("EUCLIDEAN_LOSS", 7, "EuclideanLoss"),
    ("ELTWISE", 25, "Eltwise"),
    ("EXP", 38, "Exp"),
    ("FLATTEN", 8, "Flatten"),
    ("HDF5_DATA", 9, "HDF5Data"),
    ("HDF5_OUTPUT", 10, "HDF5Output"),
    ("HINGE_LOSS", 28, "HingeLoss"),
    ("IM2COL", 11, "Im2col"),
    ("IMAGE_DATA", 12, "ImageData"),
    ("INFOGAIN_LOSS", 13, "InfogainLoss"),
    ("INNER_PRODUCT", 14, "InnerProduct"),
    ("LRN", 15, "LRN"),
    ("MEMORY_DATA", 29, "MemoryData"),
    ("MULTINOMIAL_LOGISTIC_LOSS", 16, "MultinomialLogisticLoss"),
    ("MVN", 34, "MVN"),
    ("POOLING", 17, "Pooling"),
    ("POWER", 26, "Power"),
    ("RELU", 18, "ReLU"),
    ("SIGMOID", 19, "Sigmoid"),
    ("SIGMOID_CROSS_ENTROPY_LOSS", 27, "SigmoidCrossEntropyLoss"),
    ("SILENCE", 36, "Silence"),
    ("SOFTMAX", 20, "Softmax"),
    ("SOFTMAX_LOSS", 21, "SoftmaxWithLoss"),
    ("SPLIT", 22, "Split"),
    ("SLICE", 33, "Slice"),
    ("TANH", 23, "TanH"),
    ("WINDOW_DATA", 24, "WindowData"),
    ("THRESHOLD", 31, "Threshold"),
)

_ENUMS: Mapping[str, Mapping[str, int]] = {
    "Phase": {"TRAIN": 0, "TEST": 1},
}

_MESSAGES: Mapping[str, MessageSpec] = {
    "BlobShape": _message(
        Field("dim", 1, "int64", PACKED),
    ),
    "BlobProto": _message(
        Field("shape", 7, "BlobShape"),
        Field("data", 5, "float", PACKED),
        Field("diff", 6, "float", PACKED),
        Field("double_data", 8, "double", PACKED),
        Field("double_diff", 9, "double", PACKED),
        Field("num", 1, "int32", default=0),
        Field("channels", 2, "int32", default=0),
        Field("height", 3, "int32", default=0),
        Field("width", 4, "int32", default=0),
    ),
    "FillerParameter": _message(
        Field("type", 1, "string", default="constant"),
        Field("value", 2, "float", default=0.0),
        Field("min", 3, "float", default=0.0),
        Field("max", 4, "float", default=1.0),
        Field("mean", 5, "float", default=0.0),
        Field("std", 6, "float", default=1.0),
        Field("sparse", 7, "int32", default=-1),
        Field("variance_norm", 8, "VarianceNorm", default="FAN_IN"),
        enums={"VarianceNorm": {"FAN_IN": 0, "FAN_OUT": 1, "AVERAGE": 2}},
    ),
    "NetParameter": _message(
        Field("name", 1, "string"),
        Field("input", 3, "string", REPEATED),
        Field("input_shape", 8, "BlobShape", REPEATED),
        Field("input_dim", 4, "int32", REPEATED),
        Field("force_backward", 5, "bool", default=False),
        Field("state", 6, "NetState"),
        Field("debug_info", 7, "bool", default=False),
        Field("layer", 100, "LayerParameter", REPEATED),
        Field("layers", 2, "V1LayerParameter", REPEATED),
    ),
    "NetState": _message(
        Field("phase", 1, "Phase", default="TEST"),
        Field("level", 2, "int32", default=0),
        Field("stage", 3, "string", REPEATED),
    ),
    "NetStateRule": _message(
        Field("phase", 1, "Phase"),
        Field("min_level", 2, "int32"),
        Field("max_level", 3, "int32"),
        Field("stage", 4, "string", REPEATED),
        Field("not_stage", 5, "string", REPEATED),
    ),
    "ParamSpec": _message(
        Field("name", 1, "string"),
        Field("share_mode", 2, "DimCheckMode"),
        Field("lr_mult", 3, "float", default=1.0),
        Field("decay_mult", 4, "float", default=1.0),
        enums={"DimCheckMode": _DIM_CHECK_MODE},
    ),
    "LayerParameter": _message(
        Field("name", 1, "string"),
        Field("type", 2, "string"),
        Field("bottom", 3, "string", REPEATED),
        Field("top", 4, "string", REPEATED),
        Field("phase", 10, "Phase"),
        Field("loss_weight", 5, "float", REPEATED),
        Field("param", 6, "ParamSpec", REPEATED),
        Field("blobs", 7, "BlobProto", REPEATED),
        Field("propagate_down", 11, "bool", REPEATED),
        Field("include", 8, "NetStateRule", REPEATED),
        Field("exclude", 9, "NetStateRule", REPEATED),
        Field("transform_param", 100, "TransformationParameter"),
        Field("loss_param", 101, "LossParameter"),
        Field("accuracy_param", 102, "AccuracyParameter"),
        Field("argmax_param", 103, "ArgMaxParameter"),
        Field("batch_norm_param", 139, "BatchNormParameter"),
        Field("bias_param", 141, "BiasParameter"),
        Field("clip_param", 148, "ClipParameter"),
        Field("concat_param", 104, "ConcatParameter"),
        Field("contrastive_loss_param", 105, "ContrastiveLossParameter"),
        Field("convolution_param", 106, "ConvolutionParameter"),
        Field("crop_param", 144, "CropParameter"),
        Field("data_param", 107, "DataParameter"),
        Field("dropout_param", 108, "DropoutParameter"),
        Field("dummy_data_param", 109, "DummyDataParameter"),
        Field("eltwise_param", 110, "EltwiseParameter"),
        Field("elu_param", 140, "ELUParameter"),
        Field("embed_param", 137, "EmbedParameter"),
        Field("exp_param", 111, "ExpParameter"),
        Field("flatten_param", 135, "FlattenParameter"),
        Field("hdf5_data_param", 112, "HDF5DataParameter"),
        Field("hdf5_output_param", 113, "HDF5OutputParameter"),
        Field("hinge_loss_param", 114, "HingeLossParameter"),
        Field("image_data_param", 115, "ImageDataParameter"),
        Field("infogain_loss_param", 116, "InfogainLossParameter"),
        Field("inner_product_param", 117, "InnerProductParameter"),
        Field("input_param", 143, "InputParameter"),
        Field("log_param", 134, "LogParameter"),
        Field("lrn_param", 118, "LRNParameter"),
        Field("memory_data_param", 119, "MemoryDataParameter"),
        Field("mvn_param", 120, "MVNParameter"),
        Field("parameter_param", 145, "ParameterParameter"),
        Field("pooling_param", 121, "PoolingParameter"),
        Field("power_param", 122, "PowerParameter"),
        Field("prelu_param", 131, "PReLUParameter"),
        Field("python_param", 130, "PythonParameter"),
        Field("recurrent_param", 146, "RecurrentParameter"),
        Field("reduction_param", 136, "ReductionParameter"),
        Field("relu_param", 123, "ReLUParameter"),
        Field("reshape_param", 133, "ReshapeParameter"),
        Field("scale_param", 142, "ScaleParameter"),
        Field("sigmoid_param", 124, "SigmoidParameter"),
        Field("softmax_param", 125, "SoftmaxParameter"),
        Field("spp_param", 132, "SPPParameter"),
        Field("slice_param", 126, "SliceParameter"),
        Field("swish_param", 147, "SwishParameter"),
        Field("tanh_param", 127, "TanHParameter"),
        Field("threshold_param", 128, "ThresholdParameter"),
        Field("tile_param", 138, "TileParameter"),
        Field("window_data_param", 129, "WindowDataParameter"),
    ),
    "TransformationParameter": _message(
        Field("scale", 1, "float", default=1.0),
        Field("mirror", 2, "bool", default=False),
        Field("crop_size", 3, "uint32", default=0),
        Field("mean_file", 4, "string"),
        Field("mean_value", 5, "float", REPEATED),
        Field("force_color", 6, "bool", default=False),
        Field("force_gray", 7, "bool", default=False),
    ),
    "LossParameter": _message(
        Field("ignore_label", 1, "int32"),
        Field("normalization", 3, "NormalizationMode", default="VALID"),
        Field("normalize", 2, "bool"),
        enums={
            "NormalizationMode": {"FULL": 0, "VALID": 1, "BATCH_SIZE": 2, "NONE": 3},
        },
    ),
    "AccuracyParameter": _message(
        Field("top_k", 1, "uint32", default=1),
        Field("axis", 2, "int32", default=1),
        Field("ignore_label", 3, "int32"),
    ),
    "ArgMaxParameter": _message(
        Field("out_max_val", 1, "bool", default=False),
        Field("top_k", 2, "uint32", default=1),
        Field("axis", 3, "int32"),
    ),
    "ClipParameter": _message(
        Field("min", 1, "float", REQUIRED),
        Field("max", 2, "float", REQUIRED),
    ),
    "ConcatParameter": _message(
        Field("axis", 2, "int32", default=1),
        Field("concat_dim", 1, "uint32", default=1),
    ),
    "BatchNormParameter": _message(
        Field("use_global_stats", 1, "bool"),
        Field("moving_average_fraction", 2, "float", default=0.999),
        Field("eps", 3, "float", default=1e-05),
    ),
    "BiasParameter": _message(
        Field("axis", 1, "int32", default=1),
        Field("num_axes", 2, "int32", default=1),
        Field("filler", 3, "FillerParameter"),
    ),
    "ContrastiveLossParameter": _message(
        Field("margin", 1, "float", default=1.0),
        Field("legacy_version", 2, "bool", default=False),
    ),
    "ConvolutionParameter": _message(
        Field("num_output", 1, "uint32"),
        Field("bias_term", 2, "bool", default=True),
        Field("pad", 3, "uint32", REPEATED),
        Field("kernel_size", 4, "uint32", REPEATED),
        Field("stride", 6, "uint32", REPEATED),
        Field("dilation", 18, "uint32", REPEATED),
        Field("pad_h", 9, "uint32", default=0),
        Field("pad_w", 10, "uint32", default=0),
        Field("kernel_h", 11, "uint32"),
        Field("kernel_w", 12, "uint32"),
        Field("stride_h", 13, "uint32"),
        Field("stride_w", 14, "uint32"),
        Field("group", 5, "uint32", default=1),
        Field("weight_filler", 7, "FillerParameter"),
        Field("bias_filler", 8, "FillerParameter"),
        Field("engine", 15, "Engine", default="DEFAULT"),
        Field("axis", 16, "int32", default=1),
        Field("force_nd_im2col", 17, "bool", default=False),
        enums={"Engine": _ENGINE},
    ),
    "CropParameter": _message(
        Field("axis", 1, "int32", default=2),
        Field("offset", 2, "uint32", REPEATED),
    ),
    "DataParameter": _message(
        Field("source", 1, "string"),
        Field("batch_size", 4, "uint32"),
        Field("rand_skip", 7, "uint32", default=0),
        Field("backend", 8, "DB", default="LEVELDB"),
        Field("scale", 2, "float", default=1.0),
        Field("mean_file", 3, "string"),
        Field("crop_size", 5, "uint32", default=0),
        Field("mirror", 6, "bool", default=False),
        Field("force_encoded_color", 9, "bool", default=False),
        Field("prefetch", 10, "uint32", default=4),
        enums={"DB": {"LEVELDB": 0, "LMDB": 1}},
    ),
    "DropoutParameter": _message(
        Field("dropout_ratio", 1, "float", default=0.5),
    ),
    "DummyDataParameter": _message(
        Field("data_filler", 1, "FillerParameter", REPEATED),
        Field("shape", 6, "BlobShape", REPEATED),
        Field("num", 2, "uint32", REPEATED),
        Field("channels", 3, "uint32", REPEATED),
        Field("height", 4, "uint32", REPEATED),
        Field("width", 5, "uint32", REPEATED),
    ),
    "EltwiseParameter": _message(
        Field("operation", 1, "EltwiseOp", default="SUM"),
        Field("coeff", 2, "float", REPEATED),
        Field("stable_prod_grad", 3, "bool", default=True),
        enums={"EltwiseOp": {"PROD": 0, "SUM": 1, "MAX": 2}},
    ),
    "ELUParameter": _message(
        Field("alpha", 1, "float", default=1.0),
    ),
    "EmbedParameter": _message(
        Field("num_output", 1, "uint32"),
        Field("input_dim", 2, "uint32"),
        Field("bias_term", 3, "bool", default=True),
        Field("weight_filler", 4, "FillerParameter"),
        Field("bias_filler", 5, "FillerParameter"),
    ),
    "ExpParameter": _message(
        Field("base", 1, "float", default=-1.0),
        Field("scale", 2, "float", default=1.0),
        Field("shift", 3, "float", default=0.0),
    ),
    "FlattenParameter": _message(
        Field("axis", 1, "int32", default=1),
        Field("end_axis", 2, "int32", default=-1),
    ),
    "HDF5DataParameter": _message(
        Field("source", 1, "string"),
        Field("batch_size", 2, "uint32"),
        Field("shuffle", 3, "bool", default=False),
    ),
    "HDF5OutputParameter": _message(
        Field("file_name", 1, "string"),
    ),
    "HingeLossParameter": _message(
        Field("norm", 1, "Norm", default="L1"),
        enums={"Norm": {"L1": 1, "L2": 2}},
    ),
    "ImageDataParameter": _message(
        Field("source", 1, "string"),
        Field("batch_size", 4, "uint32", default=1),
        Field("rand_skip", 7, "uint32", default=0),
        Field("shuffle", 8, "bool", default=False),
        Field("new_height", 9, "uint32", default=0),
        Field("new_width", 10, "uint32", default=0),
        Field("is_color", 11, "bool", default=True),
        Field("scale", 2, "float", default=1.0),
        Field("mean_file", 3, "string"),
        Field("crop_size", 5, "uint32", default=0),
        Field("mirror", 6, "bool", default=False),
        Field("root_folder", 12, "string", default=""),
    ),
    "InfogainLossParameter": _message(
        Field("source", 1, "string"),
        Field("axis", 2, "int32", default=1),
    ),
    "InnerProductParameter": _message(
        Field("num_output", 1, "uint32"),
        Field("bias_term", 2, "bool", default=True),
        Field("weight_filler", 3, "FillerParameter"),
        Field("bias_filler", 4, "FillerParameter"),
        Field("axis", 5, "int32", default=1),
        Field("transpose", 6, "bool", default=False),
    ),
    "InputParameter": _message(
        Field("shape", 1, "BlobShape", REPEATED),
    ),
    "LogParameter": _message(
        Field("base", 1, "float", default=-1.0),
        Field("scale", 2, "float", default=1.0),
        Field("shift", 3, "float", default=0.0),
    ),
    "LRNParameter": _message(
        Field("local_size", 1, "uint32", default=5),
        Field("alpha", 2, "float", default=1.0),
        Field("beta", 3, "float", default=0.75),
        Field("norm_region", 4, "NormRegion", default="ACROSS_CHANNELS"),
        Field("k", 5, "float", default=1.0),
        Field("engine", 6, "Engine", default="DEFAULT"),
        enums={
            "NormRegion": {"ACROSS_CHANNELS": 0, "WITHIN_CHANNEL": 1},
            "Engine": _ENGINE,
        },
    ),
    "MemoryDataParameter": _message(
        Field("batch_size", 1, "uint32"),
        Field("channels", 2, "uint32"),
        Field("height", 3, "uint32"),
        Field("width", 4, "uint32"),
    ),
    "MVNParameter": _message(
        Field("normalize_variance", 1, "bool", default=True),
        Field("across_channels", 2, "bool", default=False),
        Field("eps", 3, "float", default=1e-09),
    ),
    "ParameterParameter": _message(
        Field("shape", 1, "BlobShape"),
    ),
    "PoolingParameter": _message(
        Field("pool", 1, "PoolMethod", default="MAX"),
        Field("pad", 4, "uint32", default=0),
        Field("pad_h", 9, "uint32", default=0),
        Field("pad_w", 10, "uint32", default=0),
        Field("kernel_size", 2, "uint32"),
        Field("kernel_h", 5, "uint32"),
        Field("kernel_w", 6, "uint32"),
        Field("stride", 3, "uint32", default=1),
        Field("stride_h", 7, "uint32"),
        Field("stride_w", 8, "uint32"),
        Field("engine", 11, "Engine", default="DEFAULT"),
        Field("global_pooling", 12, "bool", default=False),
        Field("round_mode", 13, "RoundMode", default="CEIL"),
        enums={
            "PoolMethod": _POOL_METHOD,
            "Engine": _ENGINE,
            "RoundMode": {"CEIL": 0, "FLOOR": 1},
        },
    ),
    "PowerParameter": _message(
        Field("power", 1, "float", default=1.0),
        Field("scale", 2, "float", default=1.0),
        Field("shift", 3, "float", default=0.0),
    ),
    "PythonParameter": _message(
        Field("module", 1, "string"),
        Field("layer", 2, "string"),
        Field("param_str", 3, "string", default=""),
        Field("share_in_parallel", 4, "bool", default=False),
    ),
    "RecurrentParameter": _message(
        Field("num_output", 1, "uint32", default=0),
        Field("weight_filler", 2, "FillerParameter"),
        Field("bias_filler", 3, "FillerParameter"),
        Field("debug_info", 4, "bool", default=False),
        Field("expose_hidden", 5, "bool", default=False),
    ),
    "ReductionParameter": _message(
        Field("operation", 1, "ReductionOp", default="SUM"),
        Field("axis", 2, "int32", default=0),
        Field("coeff", 3, "float", default=1.0),
        enums={"ReductionOp": {"SUM": 1, "ASUM": 2, "SUMSQ": 3, "MEAN": 4}},
    ),
    "ReLUParameter": _message(
        Field("negative_slope", 1, "float", default=0.0),
        Field("engine", 2, "Engine", default="DEFAULT"),
        enums={"Engine": _ENGINE},
    ),
    "ReshapeParameter": _message(
        Field("shape", 1, "BlobShape"),
        Field("axis", 2, "int32", default=0),
        Field("num_axes", 3, "int32", default=-1),
    ),
    "ScaleParameter": _message(
        Field("axis", 1, "int32", default=1),
        Field("num_axes", 2, "int32", default=1),
        Field("filler", 3, "FillerParameter"),
        Field("bias_term", 4, "bool", default=False),
        Field("bias_filler", 5, "FillerParameter"),
    ),
    "SigmoidParameter": _message(
        Field("engine", 1, "Engine", default="DEFAULT"),
        enums={"Engine": _ENGINE},
    ),
    "SliceParameter": _message(
        Field("axis", 3, "int32", default=1),
        Field("slice_point", 2, "uint32", REPEATED),
        Field("slice_dim", 1, "uint32", default=1),
    ),
    "SoftmaxParameter": _message(
        Field("engine", 1, "Engine", default="DEFAULT"),
        Field("axis", 2, "int32", default=1),
        enums={"Engine": _ENGINE},
    ),
    "SwishParameter": _message(
        Field("beta", 1, "float", default=1.0),
    ),
    "TanHParameter": _message(
        Field("engine", 1, "Engine", default="DEFAULT"),
        enums={"Engine": _ENGINE},
    ),
    "TileParameter": _message(
        Field("axis", 1, "int32", default=1),
        Field("tiles", 2, "int32"),
    ),
    "ThresholdParameter": _message(
        Field("threshold", 1, "float", default=0.0),
    ),
    "WindowDataParameter": _message(
        Field("source", 1, "string"),
        Field("scale", 2, "float", default=1.0),
        Field("mean_file", 3, "string"),
        Field("batch_size", 4, "uint32"),
        Field("crop_size", 5, "uint32", default=0),
        Field("mirror", 6, "bool", default=False),
        Field("fg_threshold", 7, "float", default=0.5),
        Field("bg_threshold", 8, "float", default=0.5),
        Field("fg_fraction", 9, "float", default=0.25),
        Field("context_pad", 10, "uint32", default=0),
        Field("crop_mode", 11, "string", default="warp"),
        Field("cache_images", 12, "bool", default=False),
        Field("root_folder", 13, "string", default=""),
    ),
    "SPPParameter": _message(
        Field("pyramid_height", 1, "uint32"),
        Field("pool", 2, "PoolMethod", default="MAX"),
        Field("engine", 6, "Engine", default="DEFAULT"),
        enums={"PoolMethod": _POOL_METHOD, "Engine": _ENGINE},
    ),
    # The deprecated layer of 2014 nets (``NetParameter.layers``), with an enum
    # type; it holds the still older V0 layer in its field ``layer``.
    "V1LayerParameter": _message(
        Field("bottom", 2, "string", REPEATED),
        Field("top", 3, "string", REPEATED),
        Field("name", 4, "string"),
        Field("include", 32, "NetStateRule", REPEATED),
        Field("exclude", 33, "NetStateRule", REPEATED),
        Field("type", 5, "LayerType"),
        Field("blobs", 6, "BlobProto", REPEATED),
        Field("param", 1001, "string", REPEATED),
        Field("blob_share_mode", 1002, "DimCheckMode", REPEATED),
        Field("blobs_lr", 7, "float", REPEATED),
        Field("weight_decay", 8, "float", REPEATED),
        Field("loss_weight", 35, "float", REPEATED),
        Field("accuracy_param", 27, "AccuracyParameter"),
        Field("argmax_param", 23, "ArgMaxParameter"),
        Field("concat_param", 9, "ConcatParameter"),
        Field("contrastive_loss_param", 40, "ContrastiveLossParameter"),
        Field("convolution_param", 10, "ConvolutionParameter"),
        Field("data_param", 11, "DataParameter"),
        Field("dropout_param", 12, "DropoutParameter"),
        Field("dummy_data_param", 26, "DummyDataParameter"),
        Field("eltwise_param", 24, "EltwiseParameter"),
        Field("exp_param", 41, "ExpParameter"),
        Field("hdf5_data_param", 13, "HDF5DataParameter"),
        Field("hdf5_output_param", 14, "HDF5OutputParameter"),
        Field("hinge_loss_param", 29, "HingeLossParameter"),
        Field("image_data_param", 15, "ImageDataParameter"),
        Field("infogain_loss_param", 16, "InfogainLossParameter"),
        Field("inner_product_param", 17, "InnerProductParameter"),
        Field("lrn_param", 18, "LRNParameter"),
        Field("memory_data_param", 22, "MemoryDataParameter"),
        Field("mvn_param", 34, "MVNParameter"),
        Field("pooling_param", 19, "PoolingParameter"),
        Field("power_param", 21, "PowerParameter"),
        Field("relu_param", 30, "ReLUParameter"),
        Field("sigmoid_param", 38, "SigmoidParameter"),
        Field("softmax_param", 39, "SoftmaxParameter"),
        Field("slice_param", 31, "SliceParameter"),
        Field("tanh_param", 37, "TanHParameter"),
        Field("threshold_param", 25, "ThresholdParameter"),
        Field("window_data_param", 20, "WindowDataParameter"),
        Field("transform_param", 36, "TransformationParameter"),
        Field("loss_param", 42, "LossParameter"),
        Field("layer", 1, "V0LayerParameter"),
        enums={
            "LayerType": {name: number for name, number, _ in _V1_LAYER_TYPES},
            "DimCheckMode": _DIM_CHECK_MODE,
        },
    ),
    "V0LayerParameter": _message(
        Field("name", 1, "string"),
        Field("type", 2, "string"),
        Field("num_output", 3, "uint32"),
        Field("biasterm", 4, "bool", default=True),
        Field("weight_filler", 5, "FillerParameter"),
        Field("bias_filler", 6, "FillerParameter"),
        Field("pad", 7, "uint32", default=0),
        Field("kernelsize", 8, "uint32"),
        Field("group", 9, "uint32", default=1),
        Field("stride", 10, "uint32", default=1),
        Field("pool", 11, "PoolMethod", default="MAX"),
        Field("dropout_ratio", 12, "float", default=0.5),
        Field("local_size", 13, "uint32", default=5),
        Field("alpha", 14, "float", default=1.0),
        Field("beta", 15, "float", default=0.75),
        Field("k", 22, "float", default=1.0),
        Field("source", 16, "string"),
        Field("scale", 17, "float", default=1.0),
        Field("meanfile", 18, "string"),
        Field("batchsize", 19, "uint32"),
        Field("cropsize", 20, "uint32", default=0),
        Field("mirror", 21, "bool", default=False),
        Field("blobs", 50, "BlobProto", REPEATED),
        Field("blobs_lr", 51, "float", REPEATED),
        Field("weight_decay", 52, "float", REPEATED),
        Field("rand_skip", 53, "uint32", default=0),
        Field("det_fg_threshold", 54, "float", default=0.5),
        Field("det_bg_threshold", 55, "float", default=0.5),
        Field("det_fg_fraction", 56, "float", default=0.25),
        Field("det_context_pad", 58, "uint32", default=0),
        Field("det_crop_mode", 59, "string", default="warp"),
        Field("new_num", 60, "int32", default=0),
        Field("new_channels", 61, "int32", default=0),
        Field("new_height", 62, "int32", default=0),
        Field("new_width", 63, "int32", default=0),
        Field("shuffle_images", 64, "bool", default=False),
        Field("concat_dim", 65, "uint32", default=1),
        Field("hdf5_output_param", 1001, "HDF5OutputParameter"),
        enums={"PoolMethod": _POOL_METHOD},
    ),
    "PReLUParameter": _message(
        Field("filler", 1, "FillerParameter"),
        Field("channel_shared", 2, "bool", default=False),
    ),
}

_SCALAR_TYPES = {
    "double": FieldDescriptor.TYPE_DOUBLE,
    "float": FieldDescriptor.TYPE_FLOAT,
    "int64": FieldDescriptor.TYPE_INT64,
    "uint64": FieldDescriptor.TYPE_UINT64,
    "int32": FieldDescriptor.TYPE_INT32,
    "uint32": FieldDescriptor.TYPE_UINT32,
    "bool": FieldDescriptor.TYPE_BOOL,
    "string": FieldDescriptor.TYPE_STRING,
    "bytes": FieldDescriptor.TYPE_BYTES,
}

_LABELS = {
    OPTIONAL: FieldDescriptor.LABEL_OPTIONAL,
    REPEATED: FieldDescriptor.LABEL_REPEATED,
    PACKED: FieldDescriptor.LABEL_REPEATED,
    REQUIRED: FieldDescriptor.LABEL_REQUIRED,
}


def _default_text(value: bool | int | float | str) -> str:
    """Spell a default the way ``FieldDescriptorProto.default_value`` wants it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _add_enum(proto: descriptor_pb2.EnumDescriptorProto, name: str, values: Mapping[str, int]) -> None:
    proto.name = name
    for value_name, number in values.items():
        proto.value.add(name=value_name, number=number)


def _add_field(proto: descriptor_pb2.FieldDescriptorProto, field: Field, message: str, spec: MessageSpec) -> None:
    """Describe ``field`` of ``message`` in ``proto``.

    A type name resolves as in ``caffe.proto``: first to an enum of the same
    message, then to a file-level enum, then to a message.
    """
    proto.name = field.name
    proto.number = field.number
    proto.label = _LABELS[field.label]
    if field.type in _SCALAR_TYPES:
        proto.type = _SCALAR_TYPES[field.type]
    elif field.type in spec.enums:
        proto.type = FieldDescriptor.TYPE_ENUM
        proto.type_name = f".{PACKAGE}.{message}.{field.type}"
    elif field.type in _ENUMS:
        proto.type = FieldDescriptor.TYPE_ENUM
        proto.type_name = f".{PACKAGE}.{field.type}"
    elif field.type in _MESSAGES:
        proto.type = FieldDescriptor.TYPE_MESSAGE
        proto.type_name = f".{PACKAGE}.{field.type}"
    else:
        raise KeyError(f"{message}.{field.name}: unknown type {field.type!r}")
    if field.label == PACKED:
        proto.options.packed = True
    if field.default is not None:
        proto.default_value = _default_text(field.default)


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """Compile the tables into one ``FileDescriptorProto``."""
    proto = descriptor_pb2.FileDescriptorProto(name="port/caffe/caffe.proto", package=PACKAGE, syntax="proto2")
    for name, values in _ENUMS.items():
        _add_enum(proto.enum_type.add(), name, values)
    for name, spec in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for enum_name, values in spec.enums.items():
            _add_enum(message.enum_type.add(), enum_name, values)
        for field in spec.fields:
            _add_field(message.field.add(), field, name, spec)
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.AddSerializedFile(_file_descriptor().SerializeToString())


def message_class(name: str) -> type[Message]:
    """Return the message class of this schema named ``name`` (e.g. ``"BlobShape"``).

    Raises:
        KeyError: If the schema has no such message.
    """
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"{PACKAGE}.{name}"))


NetParameter = message_class("NetParameter")
NetState = message_class("NetState")
NetStateRule = message_class("NetStateRule")
LayerParameter = message_class("LayerParameter")
V1LayerParameter = message_class("V1LayerParameter")
ParamSpec = message_class("ParamSpec")
BlobProto = message_class("BlobProto")
BlobShape = message_class("BlobShape")
FillerParameter = message_class("FillerParameter")
TransformationParameter = message_class("TransformationParameter")
LossParameter = message_class("LossParameter")
InputParameter = message_class("InputParameter")
ConvolutionParameter = message_class("ConvolutionParameter")
PoolingParameter = message_class("PoolingParameter")
LRNParameter = message_class("LRNParameter")
InnerProductParameter = message_class("InnerProductParameter")
ReLUParameter = message_class("ReLUParameter")
DropoutParameter = message_class("DropoutParameter")
SoftmaxParameter = message_class("SoftmaxParameter")
ConcatParameter = message_class("ConcatParameter")
EltwiseParameter = message_class("EltwiseParameter")
FlattenParameter = message_class("FlattenParameter")


# V1 <-> V2 layer correspondence, as in Caffe's UpgradeV1LayerParameter.

V1_LAYER_TYPES: Mapping[str, str] = MappingProxyType({name: type_string for name, _, type_string in _V1_LAYER_TYPES})
"""V1 ``LayerType`` value name -> the V2 ``LayerParameter.type`` string."""

V1_PARAM_SPEC_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "param": "name",
        "blob_share_mode": "share_mode",
        "blobs_lr": "lr_mult",
        "weight_decay": "decay_mult",
    }
)
"""V1 per-blob list field -> the ``ParamSpec`` field it becomes.

The i-th entry of each V1 list lands in the i-th ``LayerParameter.param``.
The two ``DimCheckMode`` enums have the same values.
"""


def _same_field(a: FieldDescriptor, b: FieldDescriptor) -> bool:
    def kind(f: FieldDescriptor) -> tuple[object, ...]:
        sub = f.message_type or f.enum_type
        return f.type, f.is_repeated, sub.full_name if sub else None

    return kind(a) == kind(b)


V1_COMMON_LAYER_FIELDS: frozenset[str] = frozenset(
    name
    for name, field in V1LayerParameter.DESCRIPTOR.fields_by_name.items()
    if name in LayerParameter.DESCRIPTOR.fields_by_name
    and _same_field(field, LayerParameter.DESCRIPTOR.fields_by_name[name])
)
"""Fields that V1 and V2 layers share by name and type and copy verbatim.

These are ``name``, ``bottom``, ``top``, ``include``, ``exclude``,
``loss_weight``, ``blobs`` and every ``*_param`` that V1 layers have.  The
rest of a V1 layer is ``type`` (see :data:`V1_LAYER_TYPES`), the per-blob
lists of :data:`V1_PARAM_SPEC_FIELDS`, and ``layer``, which holds a V0 layer.
"""


def copy_fields(source: Message, target: Message, names: Collection[str]) -> None:
    """Copy the fields named in ``names`` that are set in ``source`` to ``target``.

    Fields are matched by name, so the two messages may be of different types
    as long as each named field has the same type and label in both.
    Repeated fields are appended to, singular ones overwritten.
    """
    for field, value in source.ListFields():
        if field.name not in names:
            continue
        if field.is_repeated:
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)
