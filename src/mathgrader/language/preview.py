"""The preview: what the grader sees in a learner's text, before any grading.

Owns the `Preview` value (LaTeX, MathML, explicit plain text, the variables used, and warnings:
how pasted symbols were read, names that are probably meant as constants) and the `preview()`
entry point used by the API, the CLI and the quiz pages. A preview parses and draws the tree,
and refuses what the grader would refuse as too large (`10^10^10`, from estimates in log space:
`limits.check_sizes`), so that a learner sees that before submitting. It never evaluates, and it
never imports SymPy or NumPy.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from . import ast
from .limits import check_sizes
from .parser import parse_tree
from .render import to_latex, to_mathml, to_text
from .table import variable_warning

__all__ = ["Preview", "preview"]


@dataclass(frozen=True)
class Preview:
    latex: str
    mathml: str  # a complete <math> element, display="block"
    text: str  # the learner syntax with the grader's reading made explicit
    variables: list[str]  # sorted names of the variables (constants such as pi excluded)
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "latex": self.latex,
            "mathml": self.mathml,
            "text": self.text,
            "variables": list(self.variables),
            "warnings": list(self.warnings),
        }


def preview(text: str, *, variables: Collection[str] = (), allow_list: bool = False) -> Preview:
    """Parse `text` and draw it as typed; raises `InputError` for text that does not parse.

    `variables` are the names the question declares: no warning is given for those (a question
    about a variable e means e). `allow_list` accepts a comma-separated list of items.

    >>> p = preview("-x^2 + e")
    >>> p.text, p.latex, p.variables
    ('-(x^2) + e', '-x^{2} + e', ['e', 'x'])
    >>> p.warnings
    ["e is a variable here; Euler's number is E (uppercase)"]
    >>> p = preview("2×π")
    >>> p.text, p.warnings
    ('2*pi', ['read × as *', 'read π as pi'])
    """
    parsed = parse_tree(text, variables=variables, allow_list=allow_list)
    for item in parsed.items:
        check_sizes(item, text)  # what grading would refuse, the preview refuses too
    names = sorted(
        {
            node.name
            for item in parsed.items
            for node in ast.walk(item)
            if isinstance(node, ast.Name)
        }
    )
    declared = set(variables)
    warnings = [*parsed.notes] + [  # how pasted symbols were read ("read × as *") come first
        warning
        for name in names
        if name not in declared and (warning := variable_warning(name)) is not None
    ]
    return Preview(
        latex=to_latex(*parsed.items),
        mathml=to_mathml(*parsed.items),
        text=to_text(*parsed.items),
        variables=names,
        warnings=warnings,
    )
