"""``python -m legacy_caffe JOB.json``: run one legacy job (see :mod:`legacy_caffe.job`)."""

from __future__ import absolute_import

import sys

from legacy_caffe.job import main
from legacy_caffe.kinds import KINDS

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], KINDS))
