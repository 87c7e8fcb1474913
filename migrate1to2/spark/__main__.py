"""``spark-submit .../migrate1to2/spark/__main__.py SRC... DEST [options]``, or ``python -m migrate1to2.spark``.

Absolute imports: spark-submit runs this file as a script.
"""

import sys

from migrate1to2.spark.files import main

if __name__ == "__main__":
    sys.exit(main())
