"""The py27 legacy stack (Python 2.7, the thesis's pins, pycaffe for 2.7 on Debian's libcaffe) and pinned BLAS."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from parity.stacks import (
    DEFAULT_BLAS_CORE,
    FALLBACK_BLAS_CORE,
    ChrootStack,
    LegacyStackError,
    default_blas_core,
    default_root,
    get_stack,
    provision_py27,
)
from parity.stacks.provision import environment, read_stamp, run_step
from tests.test_legacy_stack import TARGETS, TINY_NET

# The thesis's pins (legacy spec, section 8) as the stack's modules report them.
THESIS_VERSIONS = {
    "numpy": "1.11.0",
    "scipy": "0.17.0",
    "skimage": "0.13.1",
    "PIL": "5.1.0",
    "google.protobuf": "3.5.2.post1",
    "caffe": "1.0.0",
}


@pytest.mark.legacy
def test_py27_manifest_has_the_thesis_pins_on_the_bullseye_stacks_libcaffe(
    legacy_py27_stack: ChrootStack, legacy_stack: ChrootStack
) -> None:
    py27 = environment(legacy_py27_stack)
    bullseye = environment(legacy_stack)
    env = py27["environment"]
    assert env["python"].startswith("2.7.")
    assert env["versions"] == THESIS_VERSIONS
    assert env["protobuf_implementation"] == "cpp"
    for package in ("libcaffe1", "libopenblas0-pthread", "libprotobuf23", "libc6"):
        assert env["debian_packages"][package] == bullseye["environment"]["debian_packages"][package]
    assert "openblas-pthread" in env["blas"]["libraries"]["libblas.so.3"]["resolved"]
    assert py27["blas_core"] == {"requested": default_blas_core(), "observed": default_blas_core()}
    assert py27["notes"] == []


@pytest.mark.legacy
def test_layers_are_bitwise_the_same_on_both_stacks(
    legacy_py27_stack: ChrootStack, legacy_stack: ChrootStack, tmp_path: Path
) -> None:
    """Same libcaffe, same OpenBLAS kernel and thread: every blob, mask and diff agrees bit for bit."""
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(TINY_NET)
    made = legacy_stack.run("make_weights", {"seed": 7}, {"prototxt": prototxt}, out_dir=tmp_path / "made")
    data = tmp_path / "input.npy"
    np.save(data, np.random.RandomState(3).uniform(-120, 130, (1, 3, 14, 14)).astype(np.float32))
    net = {"prototxt": prototxt, "weights": made.files["weights.caffemodel"], "input": data}
    params = {"targets": TARGETS, "pool_masks": True}
    bullseye = legacy_stack.run("layers", params, net).arrays
    py27 = legacy_py27_stack.run("layers", params, net).arrays
    assert sorted(py27) == sorted(bullseye)
    for name, array in bullseye.items():
        assert py27[name].dtype == array.dtype and np.array_equal(py27[name], array), name
    blobs = [array for name, array in bullseye.items() if name.startswith("blob/")]
    assert blobs and all(np.abs(array).max() > 0 for array in blobs), sorted(bullseye)


@pytest.mark.legacy
@pytest.mark.parametrize("core", [DEFAULT_BLAS_CORE, FALLBACK_BLAS_CORE])
def test_blas_core_is_pinned_and_observed(each_legacy_stack: ChrootStack, core: str) -> None:
    stack = ChrootStack(each_legacy_stack.root, python=each_legacy_stack.python, blas_core=core)
    manifest = stack.run("environment").manifest
    assert manifest["blas_core"] == {"requested": core, "observed": core}
    assert manifest["environment"]["blas"]["openblas"]["corename"] == core
    assert manifest["notes"] == []


def test_default_blas_core_needs_avx2_and_fma(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse3 ssse3 fma sse4_1 avx avx2\n")
    assert default_blas_core(cpuinfo) == "Haswell"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse3 ssse3 sse4_1 avx\n")
    assert default_blas_core(cpuinfo) == "Prescott"
    assert default_blas_core(tmp_path / "absent") == "Prescott"


def test_stack_names_and_bad_kernels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MFV_LEGACY_PY27_ROOT", str(tmp_path / "py27"))
    assert default_root("py27") == tmp_path / "py27"
    stack = get_stack("py27", blas_core="Nehalem")
    assert (stack.root, stack.python, stack.blas_core) == (tmp_path / "py27", "/usr/bin/python2.7", "Nehalem")
    assert get_stack("py27:/srv/py27").root == Path("/srv/py27")
    with pytest.raises(ValueError, match="an OpenBLAS kernel is a name such as 'Haswell', not 'x; rm'"):
        get_stack("py27", blas_core="x; rm")


def test_a_failed_recipe_step_is_named() -> None:
    script = "echo '[py27] apt-get install'; echo '[py27] compile pycaffe'; echo 'g++: error'; exit 4"
    with pytest.raises(LegacyStackError) as caught:
        run_step("recipe", ["/bin/sh", "-c", script], lambda line: None, phase=provision_py27._PHASE)
    message = str(caught.value)
    assert message.startswith("legacy setup step 'recipe: compile pycaffe' failed (exit code 4)")
    assert message.endswith("g++: error")


def test_wheelhouse_without_an_index_names_its_step(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "PIP_INDEX_URL": "http://index.invalid/simple",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_FIND_LINKS": "",
        "PIP_RETRIES": "0",
        "PIP_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(LegacyStackError, match=r"^legacy setup step 'wheelhouse' failed \(exit code 1\)"):
        provision_py27.fill_wheelhouse(tmp_path / "wheelhouse", lambda line: None)
    assert not (tmp_path / "wheelhouse" / ".mfv-requirements.sha1").exists()


def test_requirements_pin_every_package_exactly() -> None:
    pins = [
        line
        for path in provision_py27.REQUIREMENTS
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9.]*", pin) for pin in pins), pins
    names = {pin.split("==")[0].lower() for pin in pins}
    assert len(names) == len(pins)


@pytest.mark.legacy
def test_py27_setup_reuses_a_root_built_from_this_recipe_at_once(legacy_py27_stack: ChrootStack) -> None:
    logged: list[str] = []
    started = time.monotonic()
    assert provision_py27.setup_py27(log=logged.append) == legacy_py27_stack.root
    assert time.monotonic() - started < 5 and logged == []
    assert read_stamp(legacy_py27_stack.root)["recipe_sha1"] == provision_py27.recipe_digest()
