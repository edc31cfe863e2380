"""Required forms of an answer (`form` option), judged on the answer as typed.

An answer that is equivalent but not in the required form is `incorrect` with feedback naming the
form. The checks read the expression tree (what the learner typed), and use SymPy only to decide
whether polynomial factors are irreducible or a fraction is in lowest terms.
"""

from __future__ import annotations

from typing import Any

from ..language import ast

__all__ = ["FORM_NAMES", "form_problem", "simplified_size"]

FORM_NAMES = {
    "expanded": "expanded",
    "factored": "factored",
    "simplified": "simplified",
    "numeric": "a number",
    "exact": "exact (no decimal numbers)",
    "lowest_terms": "in lowest terms",
}


def form_problem(form: str, node: ast.Node, reference: ast.Node | None = None,
                 simplified_budget: int | None = None) -> str | None:
    """None when `node` is in `form`, else the feedback sentence for the learner.

    `simplified_budget` is `simplified_size(reference)`, which callers may cache per reference.
    """
    if form == "any":
        return None
    ok = {
        "expanded": _is_expanded,
        "factored": _is_factored,
        "numeric": _is_numeric,
        "exact": _is_exact,
        "lowest_terms": _in_lowest_terms,
    }.get(form)
    if ok is not None:
        passed = ok(node)
    elif form == "simplified":
        if simplified_budget is None and reference is not None:
            simplified_budget = simplified_size(reference)
        passed = simplified_budget is None or _is_simplified(node, simplified_budget)
    else:  # pragma: no cover - options are validated at construction
        raise ValueError(form)
    if passed:
        return None
    return f"Your answer is equivalent, but not {FORM_NAMES[form]}."


def _has_variable(node: ast.Node) -> bool:
    return any(isinstance(child, ast.Name) for child in ast.walk(node))


def _core(node: ast.Node) -> ast.Node:
    """The node inside parentheses and unary signs."""
    node = ast.strip_groups(node)
    while isinstance(node, ast.Unary):
        node = ast.strip_groups(node.operand)
    return node


def _is_sum(node: ast.Node) -> bool:
    core = _core(node)
    return isinstance(core, ast.Binary) and core.op in "+-" and _has_variable(core)


def _is_numeric(node: ast.Node) -> bool:
    return not _has_variable(node)


def _is_exact(node: ast.Node) -> bool:
    return not any(isinstance(c, ast.Number) and c.is_decimal for c in ast.walk(node))


def _is_expanded(node: ast.Node) -> bool:
    for child in ast.walk(node):
        if not isinstance(child, ast.Binary):
            continue
        if child.op == "*" and (_is_sum(child.left) or _is_sum(child.right)):
            return False
        if child.op == "/" and _is_sum(child.left) and _has_variable(child.right):
            return False
        if child.op == "^" and _is_sum(child.left):
            exponent = _core(child.right)
            if isinstance(exponent, ast.Number) and exponent.value.denominator == 1:
                if exponent.value >= 2:
                    return False
    return True


def _factors(node: ast.Node) -> list[ast.Node]:
    """The factors of a product/quotient/power, flattened, signs and parentheses removed."""
    core = _core(node)
    if isinstance(core, ast.Binary) and core.op in "*/":
        return _factors(core.left) + _factors(core.right)
    if isinstance(core, ast.Binary) and core.op == "^" and not _has_variable(core.right):
        return _factors(core.left)
    return [core]


def _is_factored(node: ast.Node) -> bool:
    core = _core(node)
    if isinstance(core, ast.Binary) and core.op in "+-":
        # A sum is factored only if it cannot be factored further (e.g. x + 1).
        return _irreducible(core)
    return all(_irreducible(f) for f in _factors(core) if _has_variable(f))


def _irreducible(node: ast.Node) -> bool:
    """A factor that does not factor further over the rationals."""
    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    expr = build_sympy(node)
    try:
        if expr.is_polynomial():
            _, factors = sp.factor_list(sp.expand(expr))
        else:
            factors = [(f, 1) for f in sp.Mul.make_args(sp.factor(expr))]
            factors = [(b, int(e)) if e.is_Integer else (f, 1)
                       for f in (f for f, _ in factors)
                       for b, e in [f.as_base_exp()]]
    except (sp.PolynomialError, NotImplementedError, ValueError):
        return True
    nonconstant = [(f, m) for f, m in factors if f.free_symbols]
    return len(nonconstant) <= 1 and all(m == 1 for _, m in nonconstant)


def _in_lowest_terms(node: ast.Node) -> bool:
    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    for child in ast.walk(node):
        if not (isinstance(child, ast.Binary) and child.op == "/"):
            continue
        numerator = build_sympy(child.left)
        denominator = build_sympy(child.right)
        if numerator.is_Integer and denominator.is_Integer:
            if sp.igcd(int(numerator), int(denominator)) != 1 or abs(int(denominator)) == 1:
                return False
            continue
        if numerator.is_polynomial() and denominator.is_polynomial():
            common = sp.gcd(sp.expand(numerator), sp.expand(denominator))
            if common.free_symbols:
                return False
    return True


def _size(node: ast.Node) -> int:
    return sum(
        1 for child in ast.walk(node)
        if isinstance(child, ast.Binary | ast.Call) or (
            isinstance(child, ast.Unary) and child.op == "-"
        )
    )


def simplified_size(reference: ast.Node) -> int:
    """The size a simplified answer may have: SymPy's simplest form of the reference, or the
    reference as written if that is smaller (SymPy's simplify is slow: cache this)."""
    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    simplest: Any = sp.simplify(build_sympy(reference))
    return min(int(sp.count_ops(simplest)), _size(reference))


def _is_simplified(node: ast.Node, budget: int) -> bool:
    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    if _size(node) > budget:
        return False
    # Like terms or factors that SymPy's automatic evaluation merges (x + x, x*x, 2*3*x).
    built = build_sympy(node)
    terms = _split(node, "+-")
    if len(terms) > len(sp.Add.make_args(built)):
        return False
    return len(terms) != 1 or len(_split(node, "*")) <= len(sp.Mul.make_args(built))


def _split(node: ast.Node, ops: str) -> list[ast.Node]:
    core = _core(node)
    if isinstance(core, ast.Binary) and core.op in ops:
        return _split(core.left, ops) + _split(core.right, ops)
    return [core]
