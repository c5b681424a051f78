"""Every job kind the legacy runner knows: the registries of the job modules, merged."""

from __future__ import absolute_import

from legacy_caffe import classify, mfv_reference, mfv_worker, ops_reference, original, probes, train

KINDS = {}
for _module in (probes, mfv_reference, mfv_worker, ops_reference, original, train, classify):
    KINDS.update(_module.KINDS)
