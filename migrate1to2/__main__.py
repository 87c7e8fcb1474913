"""``python -m migrate1to2``: the command line."""

from .cli import run

if __name__ == "__main__":
    run()
