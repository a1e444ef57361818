"""The benchmark's modules import each other by name from bench/, as bench/run.py runs them."""

import sys

from support.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))
