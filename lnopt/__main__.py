"""``python -m lnopt``: the command line."""

from __future__ import annotations

import sys

from lnopt.cli import main

if __name__ == "__main__":
    sys.exit(main())
