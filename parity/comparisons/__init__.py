"""The comparisons: one module per parity level or method, each running both stacks on the same inputs.

* :mod:`~parity.comparisons.layers` - levels 0-2: weights, every blob forward, every diff backward
  (:func:`run_layers_parity`); :mod:`~parity.comparisons.onnx_layers` - the ONNX export on onnxruntime
  against Caffe and the port (imported on its own: it loads onnxruntime);
* :mod:`~parity.comparisons.ops` - level 3: the zoom and the TV denoiser in both environments;
* :mod:`~parity.comparisons.mfv` - levels 4-5: MFV on the parity engine (:class:`MFVMethod`,
  :func:`run_parity`); :mod:`~parity.comparisons.reference` - whole runs of the pycaffe reference loop;
* :mod:`~parity.comparisons.batch` - batched runs against single runs, and against legacy;
* :mod:`~parity.comparisons.env`, :mod:`~parity.comparisons.env_lockstep` - the py27 stack against the
  bullseye stack (:func:`run_env_parity`);
* :mod:`~parity.comparisons.original` - the 2016 scripts run unchanged (:func:`run_original`).

Comparisons import the engine, the judges and the environments, never a report.
"""

from parity.comparisons.env import run_env_parity
from parity.comparisons.layers import run_layers_parity
from parity.comparisons.mfv import MFVMethod, RunSetup, run_parity
from parity.comparisons.ops import run_ops_parity
from parity.comparisons.original import run_original
from parity.comparisons.reference import run_reference

__all__ = [
    "MFVMethod",
    "RunSetup",
    "run_env_parity",
    "run_layers_parity",
    "run_original",
    "run_ops_parity",
    "run_parity",
    "run_reference",
]
