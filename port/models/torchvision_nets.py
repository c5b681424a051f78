"""torchvision networks as MFV models (``port.mfv.model.VisModel``), through forward hooks.

A target names a module path (``features.10``, ``layer4.2.conv3``, as
``model.named_modules()`` gives it) or one of two names every net has:
``logits``, the net's output (N, 1000), and ``prob``, its softmax.  A
module's output is taken as the module returned it, before any in-place
operation that follows (the forward pass stops there, so ``features.0`` of
VGG16 is the convolution before its in-place ReLU, as Caffe's conv targets
are).  A module that runs more than once per forward pass (ResNet's shared
``relu`` of a bottleneck) is not a target: its output would be ambiguous.

Input: RGB on 0..1, ImageNet's mean and std (``port.imaging.TORCHVISION``).
GoogLeNet is built as torchvision's pretrained one is (``transform_input``,
no auxiliary heads), so it takes the same input as the others.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

from port.imaging import TORCHVISION
from port.models.weights import cached_weights, load_weights, random_init
from port.targets import LayerShape, Target

LOGITS, PROB = "logits", "prob"
DEFAULT_SIZE = 224
BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "alexnet": lambda: torchvision.models.alexnet(weights=None),
    "vgg16": lambda: torchvision.models.vgg16(weights=None),
    "googlenet": lambda: torchvision.models.googlenet(
        weights=None, aux_logits=False, transform_input=True, init_weights=True
    ),
    "squeezenet1_0": lambda: torchvision.models.squeezenet1_0(weights=None),
    "squeezenet1_1": lambda: torchvision.models.squeezenet1_1(weights=None),
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
}


PENULTIMATE = {
    "alexnet": "classifier.5",
    "vgg16": "classifier.5",
    "googlenet": "dropout",
    "squeezenet1_0": "classifier.0",
    "squeezenet1_1": "classifier.0",
    "resnet50": "avgpool",
    "mobilenet_v2": "classifier.0",
}
"""The module whose output the final classifier reads (the penultimate code of ``mfv gallery``'s diversity)."""


def _auxiliary(key: str) -> bool:
    """GoogLeNet's auxiliary heads: torchvision's checkpoint holds them, its own builder drops them too."""
    return key.startswith(("aux1.", "aux2."))


class _Reached(Exception):
    """Stops a forward pass at the target module, carrying its output."""

    def __init__(self, output: torch.Tensor):
        self.output = output


class TorchvisionModel(nn.Module):
    """A torchvision classifier seen through hooks; ``name`` is its torchvision name."""

    def __init__(self, name: str, net: nn.Module, weights_description: str, input_size: int = DEFAULT_SIZE):
        super().__init__()
        self.name = self.net_name = name
        self.penultimate = PENULTIMATE[name]
        self.source = f"torchvision {name}"
        self.net = net.eval().requires_grad_(False)
        self.weights_description = weights_description
        self.convention = TORCHVISION
        self.class_layer, self.prob_layer = LOGITS, PROB
        self._size = int(input_size)
        self._shapes: list[LayerShape] | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        return self._size, self._size

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def layer_shapes(self) -> list[LayerShape]:
        """Every module called once per forward pass whose output is (N, C) or (N, C, H, W), then
        ``logits`` and ``prob``; shapes for one image of ``input_size``."""
        if self._shapes is None:
            seen: dict[str, list[tuple[int, ...]]] = {}

            def record(path: str):
                def hook(module, args, output):
                    if isinstance(output, torch.Tensor):
                        seen.setdefault(path, []).append(tuple(output.shape))

                return hook

            handles = [m.register_forward_hook(record(p)) for p, m in self.net.named_modules() if p]
            try:
                with torch.no_grad():
                    out = self.net(torch.zeros(1, 3, *self.input_size, device=self.device))
            finally:
                for handle in handles:
                    handle.remove()
            self._shapes = [
                LayerShape(path, shapes[0])
                for path, shapes in seen.items()
                if len(shapes) == 1 and len(shapes[0]) in (2, 4)
            ] + [LayerShape(LOGITS, tuple(out.shape)), LayerShape(PROB, tuple(out.shape))]
        return self._shapes

    def output(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        """The output of ``layer`` (a module path, ``logits`` or ``prob``) for inputs ``x``."""
        if layer in (LOGITS, PROB):
            logits = self.net(x)
            return logits if layer == LOGITS else torch.softmax(logits, dim=1)
        module = self.net.get_submodule(layer)

        def stop(module, args, output):
            raise _Reached(output)

        handle = module.register_forward_hook(stop)
        try:
            self.net(x)
        except _Reached as reached:
            return reached.output
        finally:
            handle.remove()
        raise ValueError(f"{self.source}: module {layer!r} did not run in the forward pass")

    def code_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every targetable output by name with its shape: what :meth:`codes` can read."""
        return {layer.name: layer.shape for layer in self.layer_shapes()}

    def codes(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        """The output of ``layer`` flattened per image (N, D)."""
        with torch.inference_mode():
            return self.output(x, layer).reshape(len(x), -1)

    def scores_and_gradient(self, crops: torch.Tensor, target: Target) -> tuple[torch.Tensor, torch.Tensor]:
        leaf = crops.detach().requires_grad_(True)
        with torch.enable_grad():
            top = self.output(leaf, target.layer)
            scores = top if top.dim() == 2 else top[:, :, target.y, target.x]
            (grad,) = torch.autograd.grad(scores[:, target.unit].sum(), leaf)
        return scores.detach(), grad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def torchvision_net(
    name: str,
    weights: str | Path | None = None,
    *,
    seed: int = 0,
    pretrained: bool = False,
    input_size: int = DEFAULT_SIZE,
) -> TorchvisionModel:
    """torchvision's ``name`` with weights from a state-dict file, from torchvision's cache
    (``pretrained``; nothing is downloaded), or, with neither, torchvision's random initialisation
    drawn from ``seed`` (a stand-in for tests and demos, labelled random)."""
    if weights is not None and pretrained:
        raise ValueError("give a weights file or pretrained, not both")
    build = BUILDERS[name]
    if weights is None and not pretrained:
        net = calibrate_batch_norm(random_init(build, seed), seed, input_size)
        calibrated = CALIBRATED if _batch_norms(net) else ""
        description = f"random (torchvision's initialisation, seed {seed}{calibrated}) - NOT pretrained"
        return TorchvisionModel(name, net, description, input_size)
    path = cached_weights(name) if pretrained else Path(weights)
    net = random_init(build, 0)
    load_weights(net, name, path, ignore=_auxiliary if name == "googlenet" else lambda k: False)
    return TorchvisionModel(name, net, f"state dict {path}", input_size)


CALIBRATION_IMAGES = 8
CALIBRATED = f"; batch-norm statistics of {CALIBRATION_IMAGES} seeded noise images"


def _batch_norms(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def calibrate_batch_norm(net: nn.Module, seed: int, size: int) -> nn.Module:
    """Set every batch norm's running mean and variance to those of one batch of noise images.

    torchvision initialises running statistics to mean 0, variance 1; with
    random weights the signal then shrinks layer by layer (GoogLeNet's
    logits stay within 1e-15 of a constant) and no gradient reaches the
    image.  One forward pass in training mode with ``momentum=None``
    (a cumulative average: after one batch, exactly the batch's statistics)
    over ``CALIBRATION_IMAGES`` images of uniform pixels on 0..255 drawn
    from ``numpy.random.RandomState(seed)``, preprocessed by the torchvision
    convention, makes each batch norm normalise what reaches it.  Nets
    without batch norm are returned unchanged.
    """
    norms = _batch_norms(net)
    if not norms:
        return net
    rng = np.random.RandomState(seed)
    pixels = rng.uniform(0, 255, (CALIBRATION_IMAGES, size, size, 3)).astype(np.float32)
    x = torch.from_numpy(np.stack([TORCHVISION.preprocess(p) for p in pixels]))
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    with torch.no_grad():
        net(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return net.eval()


def _factory(name: str) -> Callable[..., TorchvisionModel]:
    def factory(
        weights: str | Path | None = None, *, seed: int = 0, pretrained: bool = False, input_size: int = DEFAULT_SIZE
    ) -> TorchvisionModel:
        return torchvision_net(name, weights, seed=seed, pretrained=pretrained, input_size=input_size)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"torchvision's {name} as an MFV model: ``torchvision_net({name!r}, ...)``."
    return factory


alexnet = _factory("alexnet")
vgg16 = _factory("vgg16")
googlenet = _factory("googlenet")
squeezenet1_0 = _factory("squeezenet1_0")
squeezenet1_1 = _factory("squeezenet1_1")
resnet50 = _factory("resnet50")
mobilenet_v2 = _factory("mobilenet_v2")
