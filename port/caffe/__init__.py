"""Caffe nets and weights in pure Python and PyTorch.

Protobuf schema, reader and writer (no Caffe installation needed; see
:mod:`port.caffe.schema` for how the schema is checked against a real Caffe),
and ``CaffeNetwork``: a net as an ``nn.Module`` exposing every Caffe blob.
"""

from .errors import CaffeFormatError
from .gradients import Target, input_gradient, one_hot_diffs
from .loader import fill_random, load_net, save_caffemodel
from .network import CaffeNetwork, ForwardTrace
from .reader import net_inputs, read_caffemodel, read_prototxt, read_weights
from .writer import write_caffemodel, write_prototxt

__all__ = [
    "CaffeFormatError",
    "CaffeNetwork",
    "ForwardTrace",
    "Target",
    "fill_random",
    "input_gradient",
    "load_net",
    "net_inputs",
    "one_hot_diffs",
    "read_caffemodel",
    "read_prototxt",
    "read_weights",
    "save_caffemodel",
    "write_caffemodel",
    "write_prototxt",
]
