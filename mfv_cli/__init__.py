"""The ``mfv`` command line, on top of ``parity`` and ``port``: ``main`` (parser and dispatch), one module per
subcommand, ``options`` and ``model_options`` (options several subcommands share), ``validation`` (argument
types), ``reports`` (report folders, verdict output) and ``exits`` (the exit-code contract)."""
