"""`python -m mathgrader.cli`."""

from .app import main

main()
