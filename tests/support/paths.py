"""Where the repository is, so that helpers find its files from any working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
