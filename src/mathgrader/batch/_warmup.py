"""Imported by the batch fork server only: builds the parser and the numpy and mpmath kits
once, so every worker forked from it (replacements after a timeout included) starts warm.

SymPy is left out: its import is most of a worker's start-up and most lines never need it.
A worker imports it before the first line that will (`grade_item.prepare`), outside that
line's time budget. Doing work at import time is this module's whole purpose; nothing else
imports it.
"""

from ..checker.grade import warm_up
from .pool import settle_preloaded

warm_up(sympy=False)
settle_preloaded()
