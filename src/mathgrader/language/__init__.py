"""The learner language: grammar, the table of functions and constants, errors, preview."""

from .parser import Limits, ParsedInput, parse_tree
from .table import CONSTANTS, FUNCTIONS

__all__ = ["CONSTANTS", "FUNCTIONS", "Limits", "ParsedInput", "parse_tree"]
