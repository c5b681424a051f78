"""``mfv``'s exit status for an argument list, argparse's usage errors (``SystemExit``) included."""

from collections.abc import Sequence

from mfv_cli.main import main


def exit_status(argv: Sequence[str]) -> int:
    """Run ``mfv argv`` in this process and return its exit status."""
    try:
        return main(list(argv))
    except SystemExit as exit:
        return exit.code
