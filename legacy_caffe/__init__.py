"""The legacy side of mfv-port: code that runs inside the interpreter that has pycaffe.

Python 2.7- and 3.9-compatible, importing only the standard library, numpy
and (lazily) Caffe and what ships with it.  ``python -m legacy_caffe JOB.json``
runs one job (:mod:`legacy_caffe.job`, kinds in :mod:`legacy_caffe.probes`);
``parity.stacks`` copies this package into the legacy interpreter's world and
launches it.
"""
