"""mathgrader: grades math answers typed by learners.

>>> from mathgrader import parse
>>> parse("3*x^2 + 2")
3*x**2 + 2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigError, InputError, MathgraderError

if TYPE_CHECKING:
    from .checker.grade import Grade
    from .language.preview import Preview

__all__ = [
    "ConfigError",
    "Grade",
    "InputError",
    "MathgraderError",
    "Preview",
    "grade",
    "parse",
    "preview",
]

__version__ = "0.1.0"


def parse(text: str) -> Any:
    """Parse learner text into a SymPy expression (variables are real symbols).

    Raises an `InputError` subclass with a code, a column and a hint when the text is not in
    the learner syntax. Never evaluates the text as code.
    """
    from .language.builder import build_sympy
    from .language.limits import check_sizes
    from .language.parser import parse_tree

    parsed = parse_tree(text)
    check_sizes(parsed.node, text)
    return build_sympy(parsed.node, text=text)


def preview(text: str) -> Preview:
    """What the grader sees: LaTeX, MathML, plain text, variables and warnings."""
    from .language.preview import preview as _preview

    return _preview(text)


def grade(reference: str, answer: str, **options: Any) -> Grade:
    """Grade `answer` against `reference` under the grading options of the contract."""
    from .checker.grade import grade as _grade

    return _grade(reference, answer, **options)


def __getattr__(name: str) -> Any:
    # Lazy re-exports keep `import mathgrader` (and the CLI's cold start) light.
    if name == "Grade":
        from .checker.grade import Grade

        return Grade
    if name == "Preview":
        from .language.preview import Preview

        return Preview
    raise AttributeError(name)
