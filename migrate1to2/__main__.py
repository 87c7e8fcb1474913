"""``python -m migrate1to2``: the command line."""

from .cli import run

run()
