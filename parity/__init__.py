"""Parity: both stacks on the same inputs, every difference judged with stated tolerances.

Five subpackages, each importing only those before it (``tests/test_import_contract.py``):

* :mod:`parity.stacks` - the legacy environments: where a real Caffe runs (chroot, py27, Docker,
  local), how it is provisioned, the host's and the port's facts;
* :mod:`parity.judges` - how a difference is judged: tolerances, figures, verdicts, the stages of a
  step, pool near-ties and ReLU flips, MFV's step attribution, whole runs against the noise floor;
* :mod:`parity.engine` - one engine for every iterative method: lockstep, free runs and the legacy
  noise floor over a small method interface (:class:`parity.engine.IterativeMethod`);
* :mod:`parity.comparisons` - one module per level or method: layers, ONNX, ops, MFV on the engine,
  batched runs, py27 against bullseye, the original scripts;
* :mod:`parity.reports` - the pages, which read results and are read by nothing.
"""
