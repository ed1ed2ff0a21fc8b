"""``kubectl medic``: the kubectl plugin for on-call engineers."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from kubemedic import __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kubectl-medic`` console script."""
    parser = argparse.ArgumentParser(prog="kubectl medic", description="Work with incidents.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("version", help="print the plugin's version")
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"kubectl-medic {__version__}")
        return 0
    parser.print_help()
    return 2
