"""``python -m mfv_cli``: the ``mfv`` command."""

import sys

from mfv_cli.main import main

sys.exit(main())
