"""The legacy Caffe stack: provisioning, the job runner and the probe jobs, on a real Caffe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from legacy_caffe.random_weights import random_blobs
from parity.stacks import (
    ChrootStack,
    JobResult,
    LegacyJobError,
    LegacyStackError,
    LegacyTimeoutError,
    LocalStack,
    default_root,
    get_stack,
    provision,
)
from parity.stacks.provision import environment, setup_chroot

REPO = Path(__file__).resolve().parents[1]
SEED = 20160211

# Caffe rounds pooling sizes up: 12 -> ceil((12 - 3) / 2) + 1 = 6 (floor would give 5).
# conv1 feeds both pool1 and branch/fc2, so Caffe inserts a Split layer behind it.
# Names may hold '/', as GoogLeNet's do.
TINY_NET = """
name: "tiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 14 dim: 14 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
        lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 } }
layer { name: "fc1" type: "InnerProduct" bottom: "norm1" top: "fc1"
        inner_product_param { num_output: 5 } }
layer { name: "branch/fc2" type: "InnerProduct" bottom: "conv1" top: "branch/fc2"
        inner_product_param { num_output: 3 } }
"""
PARAM_SHAPES = [
    ("conv1", [(4, 3, 3, 3), (4,)]),
    ("fc1", [(5, 4 * 6 * 6), (5,)]),
    ("branch/fc2", [(3, 4 * 12 * 12), (3,)]),
]
BLOB_SHAPES = {
    "data": (1, 3, 14, 14),
    "conv1": (1, 4, 12, 12),
    "pool1": (1, 4, 6, 6),
    "norm1": (1, 4, 6, 6),
    "fc1": (1, 5),
    "branch/fc2": (1, 3),
}
TARGETS = [{"layer": "fc1", "unit": 2, "y": None, "x": None}, {"layer": "conv1", "unit": 1, "y": 3, "x": 4}]
TARGET_BLOBS = [["data", "conv1", "pool1", "norm1", "fc1"], ["data", "conv1"]]


@pytest.fixture(scope="module")
def tiny_net(tmp_path_factory: pytest.TempPathFactory, legacy_stack: ChrootStack) -> dict[str, Path]:
    """The tiny net's prototxt, Caffe-saved random weights and a preprocessed input."""
    folder = tmp_path_factory.mktemp("tiny_net")
    prototxt = folder / "net.prototxt"
    prototxt.write_text(TINY_NET)
    made = legacy_stack.run("make_weights", {"seed": SEED}, {"prototxt": prototxt}, out_dir=folder / "made")
    assert made.manifest["job"]["param_shapes"] == [[name, [list(s) for s in shapes]] for name, shapes in PARAM_SHAPES]
    data = folder / "input.npy"
    np.save(data, np.random.RandomState(0).uniform(-120, 130, BLOB_SHAPES["data"]).astype(np.float32))
    return {"prototxt": prototxt, "weights": made.files["weights.caffemodel"], "input": data}


@pytest.fixture(scope="module")
def tiny_layers(tiny_net: dict[str, Path], legacy_stack: ChrootStack) -> JobResult:
    return legacy_stack.run("layers", {"targets": TARGETS, "pool_masks": True}, tiny_net)


@pytest.mark.legacy
def test_environment_manifest_names_every_version(legacy_stack: ChrootStack) -> None:
    manifest = environment(legacy_stack)
    env = manifest["environment"]
    assert manifest["kind"] == "environment"
    assert env["versions"]["caffe"] == "1.0.0"
    assert env["python"].startswith("3.9.")
    assert all(env["versions"][name] for name in ("numpy", "scipy", "skimage", "PIL", "google.protobuf"))
    assert "openblas" in env["blas"]["libraries"]["libopenblas.so.0"]["resolved"]
    assert env["blas"]["openblas"]["corename"]
    for package in (
        "python3-caffe",
        "libcaffe1",
        "libopenblas0-pthread",
        "python3-numpy",
        "python3-scipy",
        "python3-skimage",
    ):
        assert env["debian_packages"][package]
    assert set(manifest["wall_seconds"]) == {"import_caffe", "job", "total"}


@pytest.mark.legacy
def test_setup_reuses_a_complete_root_at_once(legacy_stack: ChrootStack) -> None:
    logged: list[str] = []
    started = time.monotonic()
    assert setup_chroot(log=logged.append) == legacy_stack.root
    assert time.monotonic() - started < 5
    assert logged == []


@pytest.mark.legacy
def test_saved_weights_are_random_blobs_bitwise(tiny_layers: JobResult) -> None:
    for name, blobs in random_blobs(PARAM_SHAPES, SEED):
        for index, expected in enumerate(blobs):
            stored = tiny_layers.arrays[f"param/{name}/{index}"]
            assert stored.dtype == np.float32
            assert stored.tobytes() == expected.tobytes(), f"{name}[{index}]"


@pytest.mark.legacy
def test_layers_dumps_blobs_masks_and_one_hot_diffs(tiny_layers: JobResult) -> None:
    arrays, job = tiny_layers.arrays, tiny_layers.manifest["job"]
    assert job["blobs"] == list(BLOB_SHAPES) and job["input_blob"] == "data"
    assert job["param_counts"] == [[name, len(shapes)] for name, shapes in PARAM_SHAPES]
    assert ["relu1", "conv1"] in job["in_place"]
    assert job["producer"]["conv1"] == "conv1"
    assert not any("_split_" in key for key in arrays)
    for name, shape in BLOB_SHAPES.items():
        assert arrays[f"blob/{name}"].shape == shape

    for number, (target, names) in enumerate(zip(TARGETS, TARGET_BLOBS)):
        assert job["targets"][number]["blobs"] == names
        assert sorted(key for key in arrays if key.startswith(f"diff/{number}/")) == sorted(
            f"diff/{number}/{name}" for name in names
        )
        assert np.abs(arrays[f"diff/{number}/data"]).max() > 0
        top = arrays[f"diff/{number}/{target['layer']}"]
        one_hot = np.zeros_like(top)
        one_hot[(0, target["unit"]) + ((target["y"], target["x"]) if top.ndim == 4 else ())] = 1
        assert np.array_equal(top, one_hot)

    assert job["masks"] == {"pool1": "pool1__mask"}
    mask = arrays["mask/pool1"]
    assert mask.shape == BLOB_SHAPES["pool1"]
    assert np.array_equal(mask, np.round(mask)) and mask.min() >= 0 and mask.max() < 12 * 12
    planes = arrays["blob/conv1"].reshape(1, 4, -1)
    picked = np.take_along_axis(planes, mask.astype(np.int64).reshape(1, 4, -1), axis=2)
    assert np.array_equal(picked.reshape(mask.shape), arrays["blob/pool1"])
    assert tiny_layers.files == {} and tiny_layers.out_dir is None


@pytest.mark.legacy
def test_bench_times_each_repeat(tiny_net: dict[str, Path], legacy_stack: ChrootStack) -> None:
    result = legacy_stack.run("bench_fwd_bwd", {"repeats": 3, "warmup": 1, "target": TARGETS[0]}, tiny_net)
    seconds = result.manifest["job"]["seconds"]
    assert len(seconds) == 3 and all(s > 0 for s in seconds)


@pytest.mark.legacy
def test_proto_schema_lists_caffe_pb2(legacy_stack: ChrootStack, tmp_path: Path) -> None:
    result = legacy_stack.run("proto_schema", out_dir=tmp_path)
    schema = json.loads(result.files["schema.json"].read_text())
    layer = next(f for f in schema["messages"]["caffe.NetParameter"] if f["name"] == "layer")
    assert layer == {
        "name": "layer",
        "number": 100,
        "type": "message",
        "label": "repeated",
        "default": None,
        "type_name": "caffe.LayerParameter",
        "packed": False,
    }
    data = next(f for f in schema["messages"]["caffe.BlobProto"] if f["name"] == "data")
    assert data["packed"] and data["type"] == "float"
    pool = next(f for f in schema["messages"]["caffe.PoolingParameter"] if f["name"] == "pool")
    assert pool["default"] == 0 and pool["type_name"] == "caffe.PoolingParameter.PoolMethod"
    assert {"name": "MAX", "number": 0} in schema["enums"]["caffe.PoolingParameter.PoolMethod"]
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "result.npz").exists()


@pytest.mark.legacy
@pytest.mark.parametrize("threads", [1, 2])
def test_threads_are_pinned_and_observed(legacy_stack: ChrootStack, threads: int) -> None:
    manifest = legacy_stack.run("environment", threads=threads).manifest
    requested = manifest["threads"]["requested"]
    assert requested == {name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    assert manifest["threads"]["observed"] == min(threads, manifest["environment"]["cpu_count"])


@pytest.mark.legacy
def test_caffe_abort_raises_job_error_with_its_stderr(legacy_stack: ChrootStack, tmp_path: Path) -> None:
    broken = tmp_path / "broken.prototxt"
    broken.write_text(TINY_NET.replace('bottom: "norm1"', 'bottom: "no_such_blob"'))
    with pytest.raises(LegacyJobError) as caught:
        legacy_stack.run("make_weights", {"seed": 1}, {"prototxt": broken})
    message = str(caught.value)
    assert "'make_weights'" in message and "SIGABRT" in message
    assert "Unknown bottom blob 'no_such_blob'" in message


@pytest.mark.legacy
def test_job_error_names_the_problem(tiny_net: dict[str, Path], legacy_stack: ChrootStack, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((1, 3, 9, 9), np.float32))
    with pytest.raises(LegacyJobError, match=r"the input array has shape \(1, 3, 9, 9\)"):
        legacy_stack.run("layers", {"targets": []}, dict(tiny_net, input=wrong))


@pytest.mark.legacy
def test_unknown_kind_is_a_clear_job_error(legacy_stack: ChrootStack) -> None:
    with pytest.raises(LegacyJobError, match=r"unknown job kind 'no_such_kind'; known kinds: .*environment"):
        legacy_stack.run("no_such_kind")


@pytest.mark.legacy
def test_hanging_job_is_killed_at_its_timeout(tiny_net: dict[str, Path], legacy_stack: ChrootStack) -> None:
    started = time.monotonic()
    with pytest.raises(LegacyTimeoutError, match="process group was killed"):
        legacy_stack.run("bench_fwd_bwd", {"repeats": 10**9, "target": TARGETS[0]}, tiny_net, timeout=3)
    assert time.monotonic() - started < 30


@pytest.mark.legacy
def test_setup_without_the_mirror_says_it_needs_network(legacy_stack: ChrootStack, tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(LegacyStackError) as caught:
        setup_chroot(root, mirror="http://mirror.invalid/debian", log=lambda line: None)
    message = str(caught.value)
    assert "'debootstrap' failed" in message
    assert "network access to the Debian mirror http://mirror.invalid/debian" in message
    assert "MFV_DEBIAN_MIRROR" in message
    assert not root.exists() and not (tmp_path / "root.partial").exists()


def test_local_stack_without_caffe_says_so(tmp_path: Path) -> None:
    with pytest.raises(LegacyStackError) as caught:
        LocalStack(sys.executable).run("environment")
    assert not isinstance(caught.value, LegacyJobError)
    assert f"caffe is not importable in {sys.executable}" in str(caught.value)


def test_setup_needs_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(LegacyStackError, match="needs root for chroot; users without root use docker/legacy-bullseye"):
        setup_chroot(tmp_path / "root")


def test_setup_without_debootstrap_or_apt_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(provision, "system_tool", lambda name: None)
    with pytest.raises(LegacyStackError, match="debootstrap is not installed and there is no apt-get"):
        setup_chroot(tmp_path / "root", log=lambda line: None)
    assert not (tmp_path / "root.partial").exists()


def test_unprovisioned_root_says_how_to_set_it_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(LegacyStackError, match=r"no legacy root at .*mfv legacy setup"):
        ChrootStack(tmp_path / "absent").run("environment")


def test_get_stack_parses_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MFV_LEGACY_ROOT", str(tmp_path))
    assert default_root() == tmp_path
    assert get_stack().root == tmp_path
    assert get_stack("chroot:/srv/caffe-root").root == Path("/srv/caffe-root")
    assert get_stack("local:/opt/py27/bin/python").python == "/opt/py27/bin/python"
    with pytest.raises(ValueError, match="unknown legacy stack 'docker'"):
        get_stack("docker")


def test_legacy_caffe_is_python27_compatible() -> None:
    vermin = Path(sys.executable).parent / "vermin"
    completed = subprocess.run(
        [str(vermin), "--target=2.7-", "--target=3.9-", "--violations", "--no-tips", "legacy_caffe"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
