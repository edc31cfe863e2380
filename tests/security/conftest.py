"""Make `hostile_inputs` (the shared table of hostile inputs) importable by name.

pytest runs with --import-mode=importlib, which puts no test folder on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
