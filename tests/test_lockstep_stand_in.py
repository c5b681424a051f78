"""Lockstep parity's observer and judge against a stand-in legacy worker: no Caffe needed.

The stand-in answers the worker's protocol (``legacy_caffe.mfv_worker``) in
process, with the independent numpy loop of ``tests/numpy_mfv.py``: its own
random stream, offsets and Python 2 schedules, the crop cut from the port's
image and written back, the step of the spec (section 3) with scipy and
scikit-image.  The net is the one black box both sides share, so its pooling
masks and ReLU pattern are the port's own.  Each test makes the port wrong in
one way and requires lockstep to fail the steps it touches.
"""

import numpy as np
import pytest
import scipy.ndimage
import torch

import port.mfv.crops
import port.mfv.loop
from parity.comparisons.mfv import LockstepTolerances, RunSetup, lockstep_with
from parity.judges.choices import port_choices
from parity.judges.tolerances import Tolerances
from parity.judges.verdict import FAIL
from port.caffe import Target, fill_random, input_gradient, load_net
from port.mfv.backends import TorchOps
from port.mfv.loop import MFVConfig
from port.mfv.schedules import step_size
from tests import numpy_mfv
from tests.test_mfv_plumbing import CROP, LAYER, NET, OCTAVES, UNIT

TOL = LockstepTolerances.from_table(Tolerances.load().table)
SEED = 4


class StandInWorker:
    """The legacy worker's requests answered by the numpy loop's rules (``send`` computes, ``receive`` answers)."""

    def __init__(self, net):
        self.net = net
        self.rng = np.random.RandomState(SEED)
        self.rng.normal(175.0, 8.0, (*CROP, 3))
        self.answer = None

    def send(self, header, arrays=None):
        if header["op"] == "zoom":
            zoomed = scipy.ndimage.zoom(arrays["image"], (1, header["scale"], header["scale"]))
            self.answer = ({"op": "zoom"}, {"zoomed": zoomed})
        elif header["op"] == "step":
            self.answer = self._step(OCTAVES[header["octave"]], header["i"], arrays["image"].copy())
        elif header["op"] == "relu_outputs":
            self.answer = ({"op": "relu_outputs"}, {k: v.astype(np.float32) for k, v in self.relus.items()})

    def receive(self):
        answer, self.answer = self.answer, None
        return answer

    def request(self, header, arrays=None):
        self.send(header, arrays)
        return self.receive()

    def _step(self, octave, i, image):
        (h, w), (rows, cols) = CROP, image.shape[1:]
        ox = oy = 0
        if rows > h:
            ox = numpy_mfv.offset(self.rng, rows, h, octave.window)
            oy = numpy_mfv.offset(self.rng, cols, w, octave.window)
        size = numpy_mfv.legacy_step_size(*octave.step, i, octave.iter_n)
        weight = numpy_mfv.legacy_denoise_weight(*octave.denoise, i, octave.iter_n)
        crop = image[:, ox : ox + h, oy : oy + w].copy()
        x = torch.from_numpy(crop[None])
        with torch.no_grad():
            top = self.net.run(x, end=LAYER).blobs[LAYER][0].numpy()
        step = numpy_mfv.spec_step(
            crop, input_gradient(self.net, x, Target(LAYER, UNIT))[0].numpy(), octave.margin, size, weight
        )
        image[:, ox : ox + h, oy : oy + w] = step.denoised
        choices = port_choices(self.net, x, LAYER)
        self.relus = choices.relu_active
        header = {
            "op": "step",
            "ox": ox,
            "oy": oy,
            "step_size": size,
            "denoise_weight": weight,
            "best_unit": int(top.argmax()),
            "target_act": float(top[UNIT]),
        }
        arrays = {
            "crop": crop,
            "written": image,
            "gradient": step.gradient,
            "stepped": step.stepped,
            "clipped": step.clipped,
            "denoised": step.denoised,
        }
        arrays |= {f"mask/{k}": v.astype(np.float32) for k, v in choices.pool_argmax.items()}
        return header, arrays


@pytest.fixture(scope="module")
def net():
    return fill_random(load_net(NET), 5)


def lockstep_rows(net, ops=None):
    setup = RunSetup(net, NET, None, MFVConfig(Target(LAYER, UNIT), OCTAVES), SEED, None, None, LAYER)
    _, stepped = lockstep_with(setup, StandInWorker(net), ops=ops or TorchOps())
    assert len(stepped.rows) == sum(o.iter_n for o in OCTAVES) and len(stepped.checks) == 2
    return stepped.rows


def test_the_port_passes_against_the_stand_in(net):
    rows = lockstep_rows(net)
    assert all(row.verdict != FAIL for row in rows), [row.as_dict() for row in rows if row.verdict == FAIL]
    assert all(row.crop_equal and row.written_abs == row.judgement.denoised_abs for row in rows)
    assert any(row.port_offsets[0] != row.port_offsets[1] for row in rows)


def test_crops_cut_at_swapped_offsets_fail(net, monkeypatch):
    monkeypatch.setattr(
        port.mfv.loop, "crop_at", lambda image, at, shape: port.mfv.crops.crop_at(image, at[::-1], shape)
    )
    rows = lockstep_rows(net)
    moved = [row for row in rows if row.port_offsets[0] != row.port_offsets[1]]
    assert moved and all(row.verdict == FAIL and not row.crop_equal for row in moved)


def test_a_schedule_off_in_its_last_bit_fails(net, monkeypatch):
    """A step size one float64 ulp away moves the crop by far less than the tolerance: only the comparison
    of the schedules, which must be identical, sees it."""
    monkeypatch.setattr(
        port.mfv.loop, "step_size", lambda octave, i, legacy: float(np.nextafter(step_size(octave, i, legacy), 9.0))
    )
    rows = lockstep_rows(net)
    assert all(row.verdict == FAIL for row in rows)
    assert max(row.judgement.denoised_abs for row in rows) < TOL.step.denoised_abs


def test_a_denoiser_off_by_a_few_thousandths_fails(net):
    """3e-3 grey levels added by the port's denoiser: beyond the 1e-3 tolerance, and not the stopping rule
    (the port's denoiser on the stand-in's clipped crop does not give the stand-in's denoised crop)."""

    class Offset(TorchOps):
        def denoise(self, images, weights):
            return super().denoise(images, weights) + 3e-3

    rows = lockstep_rows(net, Offset())
    assert all(row.verdict == FAIL for row in rows)
    assert all(row.judgement.same_denoiser_abs == pytest.approx(3e-3, abs=2e-5) for row in rows)


def test_a_crop_written_back_at_swapped_offsets_fails(net, monkeypatch):
    """Cut at the right place, written back at the wrong one: every stage of the step agrees, and only the
    image after the write-back differs from the stand-in's."""
    calls = []

    def write_back_swapped(image, at, shape):
        calls.append(at)
        return port.mfv.crops.crop_at(image, at if len(calls) % 2 else at[::-1], shape)

    monkeypatch.setattr(port.mfv.loop, "crop_at", write_back_swapped)
    rows = lockstep_rows(net)
    moved = [row for row in rows if row.port_offsets[0] != row.port_offsets[1]]
    assert moved and all(row.crop_equal and row.verdict == FAIL for row in moved[:1])
    assert moved[0].written_abs > TOL.step.denoised_abs >= moved[0].judgement.denoised_abs
