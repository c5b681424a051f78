"""Load a Caffe net from prototxt (+ caffemodel) into a ``CaffeNetwork``.

The one import of ``port`` from ``legacy_caffe``, on purpose: ``fill_random``
draws its weights with ``legacy_caffe.random_weights``, the very generator the
legacy side uses, so both sides get the same weights from the same seed; that
module is pure numpy and runs in both interpreters (tests/test_import_contract.py).
"""

from __future__ import annotations

from pathlib import Path

from legacy_caffe.random_weights import random_blobs
from port.caffe.network import CaffeNetwork
from port.caffe.reader import parse_prototxt, read_prototxt, read_weights
from port.caffe.writer import write_caffemodel


def load_net(prototxt: str | Path, caffemodel: str | Path | None = None) -> CaffeNetwork:
    """Build the net described by ``prototxt`` and copy in the blobs of ``caffemodel``.

    Without ``caffemodel`` the parameters are zeros.  Parameters are frozen
    (``requires_grad=False``): the port differentiates with respect to inputs.
    Weights are matched to layers by name, as Caffe's ``CopyTrainedLayersFrom``
    does; layers the prototxt lacks are ignored (listed in
    ``net.ignored_weight_layers``).  ``net.weights_description`` says where
    the weights came from.
    """
    return _with_weights(CaffeNetwork(read_prototxt(prototxt), source=str(prototxt)), caffemodel)


def load_net_text(text: str, source: str, caffemodel: str | Path | None = None) -> CaffeNetwork:
    """:func:`load_net` of prototxt text (e.g. a generated net); ``source`` names it in messages."""
    return _with_weights(CaffeNetwork(parse_prototxt(text, source), source=source), caffemodel)


def _with_weights(net: CaffeNetwork, caffemodel: str | Path | None) -> CaffeNetwork:
    if caffemodel is not None:
        net.load_blobs(read_weights(caffemodel), source=str(caffemodel))
    return net.requires_grad_(False).eval()


def fill_random(net: CaffeNetwork, seed: int) -> CaffeNetwork:
    """Fill ``net`` with the deterministic random weights of ``legacy_caffe.random_weights``.

    The legacy stack's ``make_weights`` job writes the same numbers through
    Caffe's own ``net.save``.
    """
    net.load_blobs(
        dict(random_blobs(net.param_shapes(), seed, {step.name: step.type for step in net.steps})),
        source=f"deterministic random weights (seed {seed}), not pretrained",
    )
    return net


def save_caffemodel(net: CaffeNetwork, prototxt: str | Path, path: str | Path, *, version: str = "v2") -> None:
    """Write ``net``'s current blobs as a caffemodel for the net described by ``prototxt`` (atomic)."""
    write_caffemodel(path, read_prototxt(prototxt), net.blob_arrays(), version=version)
