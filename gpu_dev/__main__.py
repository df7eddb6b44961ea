"""``python -m gpu_dev``."""

import sys

from gpu_dev.cli import main

if __name__ == "__main__":
    sys.exit(main())
