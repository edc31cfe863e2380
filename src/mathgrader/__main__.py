"""`python -m mathgrader`: the command-line tool."""

from .cli.app import main

main()
