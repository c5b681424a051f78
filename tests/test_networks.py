"""MFV beyond CaffeNet: torchvision nets through the model seam, their weights, and the seam with a fake model.

References: torchvision's own models (a state dict must reproduce the model
it was saved from, bit for bit), the independent formula of a pixel-unit
step on a linear model, and the loop's own measured activations (a run
must raise its target).
"""

import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from port.facets.codes import compute_codes
from port.facets.images import list_images, read_rgb
from port.gallery.measures import central_mass, colour_distance, diversity
from port.imaging import InputConvention, random_start
from port.mfv.backends import ReferenceOps
from port.mfv.loop import MFVConfig, run_mfv
from port.mfv.presets import Octave, default_preset, load_presets, preset
from port.models import NETS, net_factory, resnet50, squeezenet1_1
from port.models.weights import WeightsError, cached_weights
from port.targets import LayerShape, Target, check_target
from tests.exit_status import exit_status
from tests.test_facets import write_families

TORCHVISION_NETS = ["alexnet", "vgg16", "googlenet", "squeezenet1_0", "squeezenet1_1", "resnet50", "mobilenet_v2"]
SIZE = 64
ONE_OCTAVE = (Octave(None, None, 4, 0, 0.3, (0.25, 0.25), (2.0, 2.0)),)


def build(name: str):
    return net_factory(name)(seed=0) if name == "caffenet" else net_factory(name)(seed=0, input_size=SIZE)


@pytest.mark.parametrize("name", ["caffenet", *TORCHVISION_NETS])
def test_a_short_seeded_run_with_random_weights_raises_the_target_activation(name):
    """Four steps of a quarter grey level on the class scores (a random MobileNet V2 is too rough for larger
    ones), for the unit the random start scores highest (a live unit: a random
    SqueezeNet's final ReLU leaves most units at 0); the final image scores higher than the start."""
    model = build(name)
    assert "random" in model.weights_description
    layer = model.class_layer
    start = torch.from_numpy(model.convention.preprocess(random_start(1, model.input_size)))[None]
    scores, _ = model.scores_and_gradient(start, Target(layer, 0))
    unit = int(scores[0].argmax())
    (run,) = run_mfv(model, MFVConfig(Target(layer, unit), ONE_OCTAVE), [1], progress=False)
    final = torch.from_numpy(model.convention.preprocess(run.image))[None]
    reached = float(model.scores_and_gradient(final, Target(layer, unit))[0][0, unit])
    assert all(row.finite for row in run.trace) and len(run.trace) == 4
    assert run.trace[0].target_act == pytest.approx(float(scores[0, unit]), rel=1e-5)
    assert reached > run.trace[0].target_act + 0.01 * abs(run.trace[0].target_act)


class LinearModel:
    """A fake net: score 0 is sum(w x), score 1 its negative; RGB on 0..1 with an uneven mean and std."""

    convention = InputConvention("RGB", 1.0, (0.5, 0.4, 0.3), (0.25, 0.5, 0.125))
    weights_description = "fixed (a test's fake model)"
    source = "a linear fake"
    class_layer, prob_layer = "score", None
    input_size = (8, 6)
    device = torch.device("cpu")

    def __init__(self):
        self.w = torch.from_numpy(np.random.RandomState(0).normal(0, 1, (1, 3, 8, 6)).astype(np.float32))

    def layer_shapes(self):
        return [LayerShape("score", (1, 2))]

    def scores_and_gradient(self, crops, target):
        score = (crops * self.w).sum(dim=(1, 2, 3))
        grad = self.w.expand_as(crops) * (1 if target.unit == 0 else -1)
        return torch.stack([score, -score], dim=1), grad.clone()


class NoDenoiser(ReferenceOps):
    name = "no denoiser"

    def denoise(self, images, weights):
        return images


def test_a_fake_model_runs_the_loop_with_its_steps_in_pixel_units():
    """One step of 3 grey levels on the fake: in pixels p (RGB, 0..255), with k_c = (1/255) / std_c, the
    step is p + float32(3 / mean|w k|) w k - the step moves every pixel in proportion to the pixel
    gradient w k, mean |move| = 3 grey levels whatever the convention."""
    model = LinearModel()
    octave = Octave(None, None, 1, 0, 0.3, (3.0, 3.0), (2.0, 2.0))
    (run,) = run_mfv(model, MFVConfig(Target("score", 0), (octave,)), [5], ops=NoDenoiser(), progress=False)
    start = random_start(5, (8, 6)).astype(np.float32)
    k = (1 / 255) / np.array([0.25, 0.5, 0.125])
    g = model.w[0].numpy().transpose(1, 2, 0) * k
    want = start + 3.0 / np.abs(g).mean() * g
    np.testing.assert_allclose(run.image, want, atol=1e-3, rtol=0)
    assert np.abs(run.image - start).mean() == pytest.approx(3.0, rel=1e-4)


def test_a_fake_models_clip_range_is_pixels_0_to_255():
    """A step of 200 grey levels on average: every pixel ends in [0, 255], both ends reached."""
    model = LinearModel()
    octave = Octave(None, None, 1, 0, 0.3, (200.0, 200.0), (2.0, 2.0))
    (run,) = run_mfv(model, MFVConfig(Target("score", 1), (octave,)), [5], ops=NoDenoiser(), progress=False)
    assert run.image.min() == pytest.approx(0.0, abs=1e-3) and run.image.max() == pytest.approx(255.0, abs=1e-3)


@pytest.mark.parametrize("architecture", ["squeezenet1_1", "resnet50", "googlenet"])
def test_a_state_dict_file_gives_the_outputs_of_the_model_it_was_saved_from(tmp_path, architecture):
    """torchvision's model, saved with torch.save: loaded through port.models, the same logits bit for bit.
    GoogLeNet's file keeps its auxiliary heads, as torchvision's pretrained checkpoint does."""
    torch.manual_seed(3)
    options = {"aux_logits": True, "transform_input": True, "init_weights": True} if architecture == "googlenet" else {}
    source = torchvision.models.get_model(architecture, weights=None, **options).eval()
    torch.save(source.state_dict(), tmp_path / "w.pth")
    model = net_factory(architecture)(tmp_path / "w.pth", input_size=SIZE)
    x = torch.from_numpy(np.random.RandomState(0).normal(0, 1, (2, 3, SIZE, SIZE)).astype(np.float32))
    with torch.no_grad():
        assert torch.equal(model(x), source(x))
    assert str(tmp_path / "w.pth") in model.weights_description and "random" not in model.weights_description


def test_unknown_network_is_a_clear_error():
    known = r"alexnet, caffe_alexnet, .*, caffenet, googlenet"
    with pytest.raises(ValueError, match=rf"unknown network 'resnet5'; known networks: {known}"):
        net_factory("resnet5")


@pytest.fixture(scope="module")
def squeezenet():
    return squeezenet1_1(seed=0, input_size=SIZE)


@pytest.mark.parametrize(
    "target, message",
    [
        (Target("features.99", 0, 0, 0), r"--target 'features.99': no such layer in torchvision squeezenet1_1"),
        (Target("logits", 1000), r"--target 1000: layer 'logits' has units 0..999"),
        (Target("features.0", 64, 0, 0), r"layer 'features.0' has units 0..63"),
        (Target("features.0", 3), r"layer 'features.0' is spatial; give a position in 0..30"),
        (Target("features.0", 3, 31, 0), r"position \(31, 0\) is outside layer 'features.0'"),
    ],
)
def test_bad_targets_are_clear_errors(squeezenet, target, message):
    with pytest.raises(ValueError, match=message):
        check_target(squeezenet.layer_shapes(), target, squeezenet.source)


def test_module_shapes_are_the_modules_outputs(squeezenet):
    """SqueezeNet 1.1 on 64 x 64: conv 3x3 stride 2 -> 31, ceil-mode max pool 3/2 -> 15; 1000 logits."""
    shapes = {layer.name: layer.shape for layer in squeezenet.layer_shapes()}
    assert shapes["features.0"] == (1, 64, 31, 31) and shapes["features.2"] == (1, 64, 15, 15)
    assert shapes["logits"] == shapes["prob"] == (1, 1000)


def test_a_module_run_twice_per_forward_is_no_target():
    """ResNet's bottleneck calls its one ``relu`` three times: its output is ambiguous, so it is not listed."""
    names = {layer.name for layer in resnet50(seed=0, input_size=SIZE).layer_shapes()}
    assert "layer1.0.conv1" in names and "layer1.0.relu" not in names


def test_weights_that_do_not_fit_name_the_tensors_and_shapes(tmp_path):
    torch.save(torchvision.models.squeezenet1_0(weights=None).state_dict(), tmp_path / "sq10.pth")
    with pytest.raises(WeightsError, match=r"features.0.weight is \(96, 3, 7, 7\) in the file, \(64, 3, 3, 3\) in"):
        squeezenet1_1(tmp_path / "sq10.pth")
    state = torchvision.models.squeezenet1_1(weights=None).state_dict()
    state.pop("classifier.1.bias")
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "edited.pth")
    with pytest.raises(WeightsError, match=r"missing tensors: classifier.1.bias; tensors squeezenet1_1 does not have"):
        squeezenet1_1(tmp_path / "edited.pth")


def test_weights_files_that_are_not_state_dicts_are_refused(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a zip or a pickle")
    with pytest.raises(WeightsError, match=r"junk.pth: not a PyTorch state-dict file"):
        squeezenet1_1(tmp_path / "junk.pth")
    torch.save(torchvision.models.squeezenet1_1(weights=None), tmp_path / "model.pth")
    with pytest.raises(WeightsError, match=r"model.pth: not a plain state dict \(loading never executes code"):
        squeezenet1_1(tmp_path / "model.pth")
    with pytest.raises(WeightsError, match=r"weights file not found: .*absent.pth"):
        squeezenet1_1(tmp_path / "absent.pth")


def test_pretrained_weights_come_from_torchvisions_cache_or_a_clear_error(tmp_path, monkeypatch):
    """Nothing is downloaded: an empty hub folder is an error naming the file looked for; a file there is used."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightsError, match=r"squeezenet1_1-b8a52dc0.pth.*mfv downloads nothing"):
        squeezenet1_1(pretrained=True)
    (tmp_path / "checkpoints").mkdir()
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), tmp_path / "checkpoints" / "x.pth")
    (tmp_path / "checkpoints" / "x.pth").rename(tmp_path / "checkpoints" / "squeezenet1_1-b8a52dc0.pth")
    assert cached_weights("squeezenet1_1") == tmp_path / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"


def test_every_network_has_a_default_preset_and_the_six_octave_one_exists():
    presets = load_presets()
    assert len(presets["six_octaves"]) == 6 and [o.scale for o in presets["six_octaves"]].count(1.2) == 3
    assert {default_preset(name) for name in NETS} <= set(presets)
    assert default_preset("caffenet") == "mean" and default_preset("resnet50") == "six_octaves"


def test_mfv_layers_lists_module_paths_and_refuses_what_does_not_apply(capsys):
    assert exit_status(["layers", "--net", "squeezenet1_1", "--input-size", "64"]) == 0
    out = capsys.readouterr().out
    assert "features.0" in out and "64x31x31" in out and "--layer features.0 --unit 0..63 --xy 0..30" in out
    assert "random" in out
    assert exit_status(["layers", "--net", "caffenet", "--pretrained"]) == 2
    assert "--pretrained: not an option of caffenet" in capsys.readouterr().err


def test_facets_read_a_torchvision_nets_codes_as_torchvision_computes_them(tmp_path, capsys, squeezenet):
    """Codes at ``classifier.0`` (the dropout before the last conv, identity at test time) are
    ``model.features`` of the image normalised by torchvision's own ``Normalize``; ``mfv facets`` runs on them."""
    write_families(tmp_path / "images", 3, seed=5)
    paths = list_images(tmp_path / "images")
    codes = compute_codes(squeezenet, paths, "classifier.0", progress=False)
    normalise = torchvision.transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    pixels = np.stack([read_rgb(p, (SIZE, SIZE)) for p in codes.paths]).astype(np.float32) / 255
    with torch.no_grad():
        want = squeezenet.net.features(normalise(torch.from_numpy(pixels).permute(0, 3, 1, 2)))
    np.testing.assert_allclose(codes.values, want.flatten(1).numpy(), rtol=1e-4, atol=1e-5)
    argv = ["facets", "--net", "squeezenet1_1", "--input-size", "64", "--images", str(tmp_path / "images")]
    assert exit_status([*argv, "--k", "2", "--m", "3", "--out", str(tmp_path / "out")]) == 0
    run = json.loads((tmp_path / "out" / "facets.json").read_text())["run"]
    assert run["layer"] == "classifier.0" and run["net"] == "squeezenet1_1" and "random" in run["weights"]
    assert "WARNING: no --weights" in capsys.readouterr().err


def test_central_mass_is_the_share_of_gradient_mass_in_the_central_box():
    """Uniform mass: the box holds rows and columns [2, 6) of 8, a quarter; all mass inside: 1; a corner: 0."""
    assert central_mass(torch.ones(3, 8, 8)) == 0.25
    inside = torch.zeros(3, 8, 8)
    inside[1, 3, 4] = -2.0
    corner = torch.zeros(3, 8, 8)
    corner[0, 0, 7] = 1.0
    assert central_mass(inside) == 1.0 and central_mass(corner) == 0.0


def test_colour_distance_and_diversity_follow_their_formulas():
    """+10 grey levels on every channel moves the three means by 10: distance sqrt(3 * 10^2).  Codes (0, 0),
    (3, 4), (6, 8): pairwise distances 5, 10, 5, mean 20/3; mean norm 5, relative diversity 4/3."""
    start = np.random.RandomState(0).uniform(20, 200, (16, 16, 3))
    assert colour_distance(start + 10, start) == pytest.approx(np.sqrt(300), rel=1e-12)
    mean, relative = diversity(torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    assert mean == pytest.approx(20 / 3, rel=1e-12) and relative == pytest.approx(4 / 3, rel=1e-12)


def write_facets_dir(folder, count: int):
    """A facets directory as mfv facets writes it, as far as mfv gallery reads it: facets.json and mean PNGs."""
    folder.mkdir()
    rows, cols = np.mgrid[0:80, 0:80]
    for j in range(count):
        waves = [np.sin(rows / (5 + c + j) + j) * np.cos(cols / (7 + c)) for c in range(3)]
        Image.fromarray((128 + 60 * np.stack(waves, 2)).astype(np.uint8)).save(folder / f"facet_{j}.png")
    entries = [{"mean_png": f"facet_{j}.png"} for j in range(count)]
    (folder / "facets.json").write_text(json.dumps({"facets": entries}))


def test_gallery_runs_each_nets_facets_in_one_batch_and_writes_the_page(tmp_path, capsys):
    write_facets_dir(tmp_path / "facets", 2)
    argv = ["gallery", "--nets", "caffenet,squeezenet1_1", "--unit", "3", "--facets", str(tmp_path / "facets")]
    argv += ["--iterations-scale", "0.02", "--input-size", "64", "--quiet", "--out", str(tmp_path / "g")]
    assert exit_status(argv) == 0
    record = json.loads((tmp_path / "g" / "gallery.json").read_text())
    caffe, squeeze = record["nets"]
    assert (caffe["net"], squeeze["net"]) == ("caffenet", "squeezenet1_1")
    assert caffe["iterations"] == sum(o.iter_n for o in preset("mean", iterations_scale=0.02))
    assert caffe["target"] == "fc8:3" and squeeze["target"] == "logits:3"
    for net in record["nets"]:
        assert net["facets"] == 2 and net["seconds_per_iteration"] > 0 and "random" in net["weights"].lower()
        assert all(0 < image["probability"] < 1 and 0 <= image["central_mass"] <= 1 for image in net["images"])
    assert sorted(p.name for p in (tmp_path / "g" / "caffenet").iterdir()) == ["facet_0.png", "facet_1.png"]
    page = (tmp_path / "g" / "index.html").read_text()
    assert page.count("data:image/png") == 2 * (2 + 2 + 1) and "docs/gallery.md" in page


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--nets", "caffenet,resnet5"], "unknown network 'resnet5'"),
        (["--nets", "caffenet", "--weights", "alexnet=w.pth"], "alexnet is not one of --nets (caffenet)"),
        (["--nets", "caffenet", "--unit", "1000"], "--unit 1000: layer 'fc8' has units 0..999"),
    ],
)
def test_gallery_bad_input_exits_2_naming_it(tmp_path, capsys, extra, message):
    write_facets_dir(tmp_path / "facets", 1)
    argv = ["gallery", "--unit", "3", "--facets", str(tmp_path / "facets"), "--out", str(tmp_path / "g"), *extra]
    assert exit_status(argv) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "g").exists()
