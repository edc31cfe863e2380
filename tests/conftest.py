"""Shared test set-up: the helper modules in this folder, and the `make fuzz` hypothesis profile."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import settings

# `strategies`, `learner_printer` and `metamorphic` are imported by name from tests in subfolders
# (pytest runs with --import-mode=importlib, which puts no test folder on sys.path).
sys.path.insert(0, str(Path(__file__).parent))

# `make fuzz` sets MATHGRADER_FUZZ=1: fresh examples on each run, and a reproduction blob on
# failure. The tests that opt in scale their example counts (strategies.property_settings).
settings.register_profile("fuzz", deadline=None, derandomize=False, print_blob=True)
if os.environ.get("MATHGRADER_FUZZ") == "1":
    settings.load_profile("fuzz")
