"""Where the repository's bundled files are, for tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "experiments" / "scenarios"
