"""Imported by the fork server of the HTTP service's workers and of Dask workers: like
`_warmup`, and SymPy too, so that no request waits for its import (those workers live long).

Doing work at import time is this module's whole purpose; nothing else imports it.
"""

from ..checker.grade import warm_up

warm_up(sympy=True)
