"""Imported by the fork server of the HTTP service's workers, and by Dask workers that grade in
their own thread: like `_warmup`, and SymPy too, so that no request waits for its import (those
workers live long, and the thread has no `prepare` step outside the budget).

Doing work at import time is this module's whole purpose; nothing else imports it.
"""

from ..checker.grade import warm_up
from .pool import settle_preloaded

warm_up(sympy=True)
settle_preloaded()
