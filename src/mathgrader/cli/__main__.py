"""`python -m mathgrader.cli`."""

from . import main

main()
