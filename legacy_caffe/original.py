"""Job kind ``original``: one of the published 2016 scripts, run unchanged, and what it produced.

Inputs ``script`` (``act_max.tvd.mean.py`` or ``act_max.tvd.center.py`` as
published), ``prototxt``, ``weights`` and optionally ``start`` (an image);
params ``unit``, ``name``, ``layer``, ``xy``, ``seed``.

The script runs in a child process of this interpreter (``python -u -m
legacy_caffe.original CHILD_SPEC``, unbuffered), so that a Caffe abort ends the child and
not the job.  The child writes the ``settings.py`` the script imports
(``model_path`` = the job's weights, ``model_definition`` = its prototxt,
``caffe_root`` = the settings folder, ``gpu = False``), loads the script as a
module from its bytes, wraps two of its functions by name in the module
(the file is not edited) and calls its ``main()`` with the shell scripts'
arguments ``unit name layer xy seed [start out]``:

* ``make_step``: each call's return value ``(best_unit, best_act, obj_act)``
  is appended to ``steps.csv`` (exact ``repr`` of the floats) as it happens;
* ``save_image``: the float image it is given is saved as ``final.npy``.

Everything the script prints is ``printed.txt``; its JPEG lands in the
output folder.  The job succeeds however the script ended; ``ended`` in the
manifest says how (``finished``, ``exit code N`` or ``killed by SIGNAME``).

On Python 2 the script's bytes are compiled as they are.  On Python 3 the
source is translated mechanically first (:data:`TRANSLATION`, recorded in
the manifest): ``print x`` statements become ``print(x)`` calls, ``xrange``
becomes ``range``, and every ``/`` becomes :func:`legacy_caffe.mfv_reference.py2_div`
(Python 2's division: floor division of two ints); the modules it imports
but never calls that Python 3's stack lacks (``cStringIO``,
``IPython.display``, ``scipy.misc.imresize``) are stand-ins that raise if used.
"""
from __future__ import absolute_import, division, print_function

import ast
import csv
import json
import os
import re
import signal
import subprocess
import sys
import types

import numpy as np

from legacy_caffe import mfv_reference

TRANSLATION = (
    "print statements -> print() calls",
    "xrange -> range",
    "a / b -> py2_div(a, b) (Python 2 division)",
    "stand-ins for cStringIO, IPython.display and scipy.misc.imresize, which the script imports but never calls",
)
STEP_FIELDS = ("iteration", "best_unit", "best_act", "obj_act")
_PRINT_STATEMENT = re.compile(r"^(\s*)print (.*)$", re.MULTILINE)
_CHILD_SPEC = "original-child.json"


def original(job):
    """Job kind ``original``: run the script in a child process and describe how it ended."""
    work = job.scratch("original-settings")
    os.makedirs(work)
    spec = {
        "script": job.input("script"),
        "prototxt": job.input("prototxt"),
        "weights": job.input("weights"),
        "start": job.input("start") if "start" in job.inputs else None,
        "argv": [str(int(job.param("unit"))), str(job.param("name")), str(job.param("layer")),
                 str(int(job.param("xy", 0))), str(int(job.param("seed")))],
        "settings": work,
        "out": job.out_dir,
    }
    with open(job.scratch(_CHILD_SPEC), "w") as handle:
        json.dump(spec, handle)
    with open(job.output("printed.txt"), "wb") as printed:
        returncode = subprocess.call([sys.executable, "-u", "-m", "legacy_caffe.original", job.scratch(_CHILD_SPEC)],
                                     stdout=printed, stderr=printed)
    if returncode == 0:
        ended = "finished"
    elif returncode < 0:
        ended = "killed by %s" % _signal_name(-returncode)
    else:
        ended = "exit code %d" % returncode
    steps = job.output("steps.csv")
    iterations = sum(1 for _ in open(steps)) - 1 if os.path.exists(steps) else 0
    job.info.update(ended=ended, returncode=returncode, iterations=iterations,
                    translation=list(TRANSLATION) if sys.version_info[0] >= 3 else [])
    return {}


def _signal_name(number):
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(signal, name) == number:
            return name
    return "signal %d" % number


def translate(source):
    """Python 2 source -> Python 3 syntax tree, by the mechanical rules of :data:`TRANSLATION`."""
    text = _PRINT_STATEMENT.sub(lambda match: "%sprint(%s)" % (match.group(1), match.group(2)), source)
    return ast.fix_missing_locations(_Python2Division().visit(ast.parse(re.sub(r"\bxrange\b", "range", text))))


class _Python2Division(ast.NodeTransformer):
    """Replace every ``a / b`` by ``__py2_div__(a, b)`` (the scripts have no ``/=``)."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Div):
            return node
        return ast.copy_location(ast.Call(ast.Name("__py2_div__", ast.Load()), [node.left, node.right], []), node)


def _stand_ins():
    """Modules the script imports and never calls, missing from Python 3's stack: stand-ins that raise."""
    def unavailable(name):
        def call(*args, **kwargs):
            raise RuntimeError("%s is a stand-in on Python 3: the original script was not expected to call it"
                               % name)
        return call

    if "cStringIO" not in sys.modules:
        sys.modules["cStringIO"] = types.ModuleType("cStringIO")
        sys.modules["cStringIO"].StringIO = unavailable("cStringIO.StringIO")
    try:
        import IPython.display  # noqa: F401
    except ImportError:
        display = types.ModuleType("IPython.display")
        for name in ("clear_output", "Image", "display"):
            setattr(display, name, unavailable("IPython.display." + name))
        sys.modules["IPython"] = types.ModuleType("IPython")
        sys.modules["IPython"].display = display
        sys.modules["IPython.display"] = display
    import scipy.misc

    if not hasattr(scipy.misc, "imresize"):
        scipy.misc.imresize = unavailable("scipy.misc.imresize")


def _child(spec_file):
    """Run the script as ``main()`` with the wrappers; stdout is the parent's ``printed.txt``."""
    with open(spec_file) as handle:
        spec = json.load(handle)
    with open(os.path.join(spec["settings"], "settings.py"), "w") as handle:
        handle.write("model_path = %r\nmodel_definition = %r\ncaffe_root = %r\ngpu = False\n"
                     % (str(spec["weights"]), str(spec["prototxt"]), str(spec["settings"])))
    sys.path.insert(0, spec["settings"])
    with open(spec["script"], "rb") as handle:
        source = handle.read()
    module = types.ModuleType("mfv_original")
    module.__file__ = spec["script"]
    if sys.version_info[0] >= 3:
        _stand_ins()
        module.__dict__["__py2_div__"] = mfv_reference.py2_div
        code = compile(translate(source.decode("utf-8")), spec["script"], "exec", 0, True)
    else:
        code = compile(source, spec["script"], "exec", 0, True)  # not this module's __future__ flags
    exec(code, module.__dict__)
    _wrap(module, spec["out"])
    sys.argv = [spec["script"]] + spec["argv"]
    if spec["start"] is not None:
        sys.argv += [spec["start"], spec["out"]]
    os.chdir(spec["out"])
    module.main()
    sys.stdout.flush()


def _wrap(module, out):
    """Record ``make_step``'s results and ``save_image``'s float image (see the module's docstring)."""
    make_step, save_image = module.make_step, module.save_image
    steps = open(os.path.join(out, "steps.csv"), "w")
    writer = csv.writer(steps)
    writer.writerow(STEP_FIELDS)
    steps.flush()
    count = [0]

    def recorded_step(*args, **kwargs):
        best_unit, best_act, obj_act = make_step(*args, **kwargs)
        writer.writerow([count[0], int(best_unit), repr(float(best_act)), repr(float(obj_act))])
        steps.flush()
        count[0] += 1
        return best_unit, best_act, obj_act

    def recorded_save(output_folder, filename, unit, img):
        np.save(os.path.join(out, "final.npy"), img)
        return save_image(output_folder, filename, unit, img)

    module.make_step = recorded_step
    module.save_image = recorded_save


KINDS = {"original": original}

if __name__ == "__main__":
    _child(sys.argv[1])
