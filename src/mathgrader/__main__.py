"""`python -m mathgrader`: the command-line tool."""

from .cli import main

main()
