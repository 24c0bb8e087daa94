"""``python -m bench``: see bench/run.py and bench/results.md."""
import sys

from bench.run import main

sys.exit(main())
