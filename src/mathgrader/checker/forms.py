"""Required forms of an answer (`form` option), judged on the answer as typed.

An answer that is equivalent but not in the required form is `incorrect` with feedback naming the
form. The checks read the expression tree (what the learner typed), and use SymPy only to decide
whether polynomial factors are irreducible, whether a fraction's numerator and denominator share a
factor, and how small SymPy's simplification of an expression is.

`lowest_terms`: the answer is one fraction (or has no fraction at all: an integer, a decimal, a
polynomial), its numerator and denominator share no factor (no common integer, no common
polynomial factor) and hold no fraction and no decimal themselves. Function arguments and
exponents are read the same way on their own: `sqrt(3)/2` and `x^(1/2)` are in lowest terms.

`simplified`: every fraction in the answer is in lowest terms (several are allowed: `x/2 + 1/3`),
no root has a square (k-th power) factor (`sqrt(8)`, `root(16, 3)`), no like terms or factors
are left to collect (`x + x`, `2*3*x`, `x*x`, `1*x`), and the answer is no larger than SymPy's
simplification of it. Sizes count the operators a learner types (`_typed_size`, `_expr_size`
measure a tree and a SymPy expression alike), and SymPy's simplest form may be written expanded
or factored (`x^2 - 1` and `(x - 1)*(x + 1)` are both simplified). The reference never sets the
bar as typed: its simplification's size (`simplified_size`, cached by the caller) only lets an
answer that small pass without simplifying the answer too.

SymPy's work is bounded by the answer's size: `simplify` and polynomial gcds run only on trees of
at most `MAX_SIMPLIFY_SIZE` operators whose expansion would have at most `MAX_EXPANDED_TERMS`
terms and no power beyond `MAX_POWER`; `simplify` never on binomials (gammasimp takes seconds on
`binomial(28, a)^8`), on numbers beyond `MAX_NUMBER`, or on trigonometric and hyperbolic answers
(trigsimp takes seconds on ten operators; a reference of at most `MAX_TRIG_SIMPLIFY_SIZE`
operators is simplified, once per question); `factor` never on high degrees. Beyond these, an
answer is measured against the reference's simplification, and a factor taken as irreducible.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
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

MAX_SIMPLIFY_SIZE = 30  # operators in an expression given to SymPy's simplify or gcd
MAX_EXPANDED_TERMS = 40  # terms its expansion may have (an estimate: see _expansion_terms)
MAX_POWER = 200  # powers it may have to work out (see _largest_power)
MAX_NUMBER = 10**6  # numbers in an expression given to simplify
MAX_TRIG_SIMPLIFY_SIZE = 6  # operators in a trigonometric reference given to simplify
MAX_FACTOR_DEGREE = 60  # degree of a polynomial in one variable given to SymPy's factor
MAX_FACTOR_DEGREE_MULTIVARIATE = 12
MAX_FACTORED_TERMS = 200  # terms of a factor multiplied out, for the `factored` form
_EXPONENTIAL = frozenset({"exp", "sinh", "cosh", "tanh", "coth", "asinh", "acosh", "atanh",
                          "acoth"})
_TRIAL_ROOTS = 1_000  # k-th powers tried as factors of a number under a root
_MAX_ROOT_DEGREE = 64  # roots of higher degree are not examined for k-th power factors


def form_problem(form: str, node: ast.Node, reference: ast.Node | None = None,
                 simplified_budget: int | None = None) -> str | None:
    """None when `node` is in `form`, else the feedback sentence for the learner.

    `simplified_budget` is `simplified_size(reference)`, which callers may cache per reference;
    without either, a simplified answer is judged by its own simplification alone.
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
        passed = _is_simplified(node, simplified_budget)
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

    if (max(_expansion_terms(node, MAX_FACTORED_TERMS + 1)) > MAX_FACTORED_TERMS
            or _largest_power(node) > MAX_POWER):
        return True  # too large to factor in the time a check has: taken as typed
    expr = build_sympy(node)
    if not _factorable(sp, expr):
        return True
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


def _factorable(sp: Any, expr: Any) -> bool:
    """Whether SymPy factors `expr` quickly: a low degree in its variables (or in the functions
    it holds: exp(x)^30 + exp(y)^30 factors as slowly as x^30 + y^30)."""
    if not _small_powers(sp, expr):
        return False
    try:
        for part in sp.fraction(sp.together(expr)):
            if part.is_number:
                continue
            poly = sp.Poly(part)
            limit = (MAX_FACTOR_DEGREE if len(poly.gens) <= 1
                     else MAX_FACTOR_DEGREE_MULTIVARIATE)
            if poly.total_degree() > limit:
                return False
    except (sp.PolynomialError, NotImplementedError, ValueError):
        return True  # not a polynomial in any generators: nothing for factor to multiply out
    return True


# ------------------------------------------------------------------ products and quotients


@dataclass
class _Chain:
    """A run of `*` and `/` (`3*x/(2*y)`), flattened: parentheses and signs do not end it."""

    numerator: list[ast.Node] = field(default_factory=list)
    denominator: list[ast.Node] = field(default_factory=list)
    divisions: int = 0
    minus_signs: int = 0

    @property
    def factors(self) -> list[ast.Node]:
        return self.numerator + self.denominator

    @property
    def nested(self) -> bool:
        """A fraction inside a fraction: `1/(4/3)`, `3/2/2`, `(x/2 + 1)/3`, `(1/2)^2/3`."""
        if self.divisions == 0:
            return False
        return self.divisions > 1 or any(_has_division(f) for f in self.factors)


def _chain(node: ast.Node) -> _Chain:
    chain = _Chain()
    stack: list[tuple[ast.Node, bool]] = [(node, True)]
    while stack:
        current, upper = stack.pop()
        current = ast.strip_groups(current)
        if isinstance(current, ast.Unary):
            chain.minus_signs += current.op == "-"
            stack.append((current.operand, upper))
        elif isinstance(current, ast.Binary) and current.op in "*/":
            if current.op == "/":
                chain.divisions += 1
                unit = _integer_value(current.left)
                if unit in (1, -1):  # the 1 of 1/x, -1/2 is no factor (nothing to collect)
                    chain.minus_signs += unit == -1
                    stack.append((current.right, not upper))
                    continue
            stack.append((current.right, upper if current.op == "*" else not upper))
            stack.append((current.left, upper))
        else:
            (chain.numerator if upper else chain.denominator).append(current)
    return chain


def _runs(node: ast.Node, ops: str) -> Iterator[ast.Binary]:
    """The roots of the maximal runs of `ops` in the tree (`a + b - c` for "+-"): parentheses and
    signs continue a run, function arguments and exponents start their own."""
    stack: list[tuple[ast.Node, bool]] = [(node, False)]
    while stack:
        current, inside = stack.pop()
        if isinstance(current, ast.Group | ast.Unary):
            stack.append((current.children()[0], inside))
            continue
        in_run = isinstance(current, ast.Binary) and current.op in ops
        if isinstance(current, ast.Binary) and in_run and not inside:
            yield current
        stack.extend((child, in_run) for child in current.children())


def _terms(node: ast.Node) -> list[ast.Node]:
    """The terms of a run of `+` and `-`, parentheses and signs removed."""
    core = _core(node)
    if isinstance(core, ast.Binary) and core.op in "+-":
        return _terms(core.left) + _terms(core.right)
    return [core]


def _has_division(node: ast.Node) -> bool:
    """A `/` in the expression itself (not inside a function's arguments or an exponent)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Binary):
            if current.op == "/":
                return True
            stack.append(current.left)
            if current.op != "^":
                stack.append(current.right)
        elif isinstance(current, ast.Group | ast.Unary):
            stack.extend(current.children())
    return False


def _contexts(node: ast.Node) -> Iterator[ast.Node]:
    """The answer, and every function argument and exponent in it: each is read on its own."""
    yield node
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            for arg in child.args:
                yield from arg.items if isinstance(arg, ast.Sequence) else (arg,)
        elif isinstance(child, ast.Binary) and child.op == "^":
            yield child.right


def _integer_value(node: ast.Node) -> int | None:
    """The value of an integer literal (brackets and signs allowed), or None."""
    sign = 1
    while isinstance(node, ast.Group | ast.Unary):
        if isinstance(node, ast.Unary):
            sign = -sign if node.op == "-" else sign
            node = node.operand
        else:
            node = node.inner
    if isinstance(node, ast.Number) and not node.is_decimal and node.value.denominator == 1:
        return sign * node.value.numerator
    return None


def _integer_exponent(node: ast.Node) -> int | None:
    """The value of a constant integer exponent however it is written (`148 + -13`, `2*3`), or
    None; bounded work, like the literals it reads."""
    value = _constant_value(node)
    return value.numerator if value is not None and value.denominator == 1 else None


def _constant_value(node: ast.Node, depth: int = 0) -> Fraction | None:
    """The exact value of a small tree of numbers and + - * / (and integer powers up to 64),
    or None."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Number):
        return node.value
    if depth > 8 or not isinstance(node, ast.Unary | ast.Binary):
        return None
    if isinstance(node, ast.Unary):
        inner = _constant_value(node.operand, depth + 1)
        return None if inner is None else (-inner if node.op == "-" else inner)
    left = _constant_value(node.left, depth + 1)
    right = _constant_value(node.right, depth + 1)
    if left is None or right is None:
        return None
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if node.op == "/":
        return left / right if right else None
    if right.denominator == 1 and abs(right) <= 64 and abs(left) <= MAX_NUMBER and (
            left or right > 0):
        return left ** int(right)
    return None


def _literal_fraction(node: ast.Node) -> tuple[int, int] | None:
    """(p, q) for a fraction of integer literals (`1/2`, `(-3/4)`), the sign of `-(3/4)` aside."""
    core = _core(node)
    if isinstance(core, ast.Binary) and core.op == "/":
        p, q = _integer_value(core.left), _integer_value(core.right)
        if p is not None and q is not None and q != 0:
            return p, q
    return None


class _Built:
    """The SymPy values of subtrees, each built once in a check."""

    def __init__(self) -> None:
        self._values: dict[int, tuple[ast.Node, Any]] = {}  # by id: the node is kept alive

    def __call__(self, node: ast.Node) -> Any:
        found = self._values.get(id(node))
        if found is None:
            from ..language.builder import build_sympy

            found = self._values[id(node)] = (node, build_sympy(node))
        return found[1]


# ------------------------------------------------------------------------ lowest terms


def _in_lowest_terms(node: ast.Node) -> bool:
    for context in _contexts(node):
        root = _core(context)
        if isinstance(root, ast.Binary) and root.op in "*/":
            chain = _chain(root)
            if chain.divisions > 1 or any(_has_division(f) for f in chain.factors):
                return False  # 1/(4/3), 3*(x/2 + 1): not one fraction
        elif _has_division(root):  # x + 1/2, (x/2)^2: not one fraction
            return False
    built = _Built()
    return all(_reduced(_chain(root), built) for root in _runs(node, "*/"))


def _reduced(chain: _Chain, built: _Built) -> bool:
    """A chain's fraction (if it has one) holds no fraction and no decimal, has a denominator
    other than 1 and shares no factor with its numerator."""
    if chain.divisions == 0:
        return True
    if chain.nested or any(isinstance(c, ast.Number) and c.is_decimal
                           for factor in chain.factors for c in ast.walk(factor)):
        return False
    from ..language.builder import load_sympy

    sp = load_sympy()

    numerator = [built(f) for f in chain.numerator]
    denominator = [built(f) for f in chain.denominator]
    top, bottom = sp.Mul(*numerator), sp.Mul(*denominator)
    if bottom in (1, -1):
        return False
    if top.is_number and bottom.is_number:
        quotient = top / bottom  # what the gcd cannot see: 4/sqrt(2) is 2*sqrt(2)
        if (not quotient.has(sp.oo, -sp.oo, sp.zoo, sp.nan)
                and sp.fraction(sp.together(quotient))[1] == 1):
            return False
    if any(_same_base(a, b) for a in numerator for b in denominator):
        return False  # (x + 1)^50/(x + 1)^49, E^2/E: without expanding anything
    top_content, bottom_content = top.as_content_primitive()[0], bottom.as_content_primitive()[0]
    if (top_content.is_Rational and bottom_content.is_Rational
            and math.gcd(top_content.p, bottom_content.p) > 1):
        return False  # 2*x/4, 6/4, sqrt(8)/4
    if (not (top.is_Rational or bottom.is_Rational)  # then the contents decided
            and not (top.has(sp.oo, -sp.oo, sp.zoo, sp.nan)
                     or bottom.has(sp.oo, -sp.oo, sp.zoo, sp.nan))
            and _bounded(chain.numerator, chain.denominator)
            and _small_powers(sp, top) and _small_powers(sp, bottom)):
        try:
            common = sp.gcd(top, bottom)
        except (sp.PolynomialError, NotImplementedError, ValueError):
            return True  # nothing a polynomial gcd can decide
        if not common.is_Number or (common.is_Integer and abs(common) != 1):
            return False  # (x^2 - 1)/(x - 1)^2, pi/(2*pi), 0/4
    return True


def _same_base(a: Any, b: Any) -> bool:
    """Powers of one non-numeric base with integer exponents (x and x^2, E and E^2)."""
    base_a, exp_a = a.as_base_exp()
    base_b, exp_b = b.as_base_exp()
    return bool(base_a == base_b and not base_a.is_Number and exp_a.is_Integer
                and exp_b.is_Integer)


# -------------------------------------------------------------------------- simplified


def _is_simplified(node: ast.Node, budget: int | None) -> bool:
    if not _simplified_parts(node):
        return False
    size = _typed_size(node)
    if budget is not None and size <= budget:
        return True  # no larger than the simplest form of an equivalent expression
    own = _simplest_size(node, trigonometric=False)
    if own is None:  # too large (or too trigonometric) for SymPy's simplify
        return budget is None
    return size <= own


def _simplified_parts(node: ast.Node) -> bool:
    """Fractions in lowest terms, roots without square factors, nothing left to collect."""
    built = _Built()
    for root in _runs(node, "*/"):
        chain = _chain(root)
        if not (_reduced(chain, built) and _collected_factors(chain, built)):
            return False
    for root in _runs(node, "+-"):
        if not _collected_terms(root, built):
            return False
    return all(_simplified_root(child, built) and not _power_of_power(child)
               for child in ast.walk(node))


def _collected_factors(chain: _Chain, built: _Built) -> bool:
    """No factor 1, at most one number on each side, no base twice on one side (x*x^2)."""
    for side in (chain.numerator, chain.denominator):
        values = [built(f) for f in side]
        if any(value == 1 for value in values):
            return False
        if sum(1 for value in values if value.is_Number) > 1:
            return False  # 2*3*x, x/(2*3)
        symbolic = [value for value in values if not value.is_Number]
        if any(_same_base(a, b) for i, a in enumerate(symbolic) for b in symbolic[i + 1:]):
            return False
    return True


def _collected_terms(run: ast.Binary, built: _Built) -> bool:
    """No term 0 and no like terms (x + x, 1/2 + 1/3, x*y - y*x)."""
    seen = set()
    for term in _terms(run):
        value = built(term)
        if value == 0:
            return False
        rest = value.as_coeff_Mul()[1]
        if rest in seen:
            return False
        seen.add(rest)
    return True


def _simplified_root(node: ast.Node, built: _Built) -> bool:
    """A root whose radicand has no k-th power factor (sqrt(8) is 2*sqrt(2), sqrt(4*x) is
    2*sqrt(x)); symbolic powers under a root (sqrt(x^2)) are left to the size comparison."""
    if isinstance(node, ast.Call) and node.name == "sqrt":
        radicand, degree = node.args[0], 2
    elif isinstance(node, ast.Call) and node.name == "root":
        radicand, order = node.args[0], _integer_value(node.args[1])
        if order is None or order < 2:
            return True
        degree = order
    elif isinstance(node, ast.Binary) and node.op == "^":
        fraction = _literal_fraction(node.right)
        if fraction is None:
            return True
        radicand, degree = node.left, abs(fraction[1]) // math.gcd(*fraction)
        if degree < 2:
            return True
    else:
        return True
    if degree > _MAX_ROOT_DEGREE:
        return True
    content = built(radicand).as_content_primitive()[0]
    if not content.is_Rational:
        return True
    return not (_has_power_factor(abs(content.p), degree)
                or _has_power_factor(content.q, degree))


def _power_of_power(node: ast.Node) -> bool:
    """(x^2)^3, ((x + 1)^2)^5: integer powers of an integer power, one power written as two."""
    if not (isinstance(node, ast.Binary) and node.op == "^"):
        return False
    base = ast.strip_groups(node.left)
    return (isinstance(base, ast.Binary) and base.op == "^"
            and _integer_value(node.right) is not None and _integer_value(base.right) is not None)


def _has_power_factor(n: int, k: int) -> bool:
    """Whether m^k divides n for some m > 1, by trial up to `_TRIAL_ROOTS` (beyond, only a
    perfect k-th power is recognised)."""
    m = 2
    while m <= _TRIAL_ROOTS and m**k <= n:
        if n % m**k == 0:
            return True
        m += 1
    if m**k > n:
        return False
    from ..language.builder import load_sympy

    return bool(load_sympy().integer_nthroot(n, k)[1])


def simplified_size(reference: ast.Node) -> int:
    """The size of SymPy's simplest form of the reference (expanded or factored, whichever is
    larger); when it is too large to simplify, the reference's own size, as written or expanded
    or factored. SymPy's simplify is slow: callers cache this per reference."""
    size = _simplest_size(reference, trigonometric=True)
    if size is not None:
        return size
    size = _typed_size(reference)
    if _bounded([reference]):
        from ..language.builder import build_sympy, load_sympy

        size = max(size, _spelled_size(load_sympy(), build_sympy(reference)))
    return size


def _simplest_size(node: ast.Node, trigonometric: bool) -> int | None:
    """The size of SymPy's simplification of `node`, the larger of its expanded/factored
    spellings, or None when that would cost too much to find (see the module docstring)."""
    size = _typed_size(node)
    if size > MAX_SIMPLIFY_SIZE or not _bounded([node]):
        return None
    from ..language.builder import build_sympy, load_sympy

    sp = load_sympy()

    expr = build_sympy(node)
    from sympy.functions.elementary.hyperbolic import HyperbolicFunction
    from sympy.functions.elementary.trigonometric import TrigonometricFunction

    trig = expr.atoms(TrigonometricFunction, HyperbolicFunction)
    if trig and (not trigonometric or size > MAX_TRIG_SIMPLIFY_SIZE or not expr.free_symbols
                 or any(arg.has(sp.Function) for function in trig for arg in function.args)):
        return None  # (sinh(32)*Catalan)^(1/3) and coth(pi + cot(z)) take seconds too
    if expr.has(sp.binomial):  # gammasimp takes seconds on binomial(28, a)^8
        return None
    if any(_huge(number) for number in expr.atoms(sp.Number)) or not _small_powers(sp, expr):
        return None  # logcombine makes log(x) + 10^30 the log of 10^(10^30)*x
    try:
        simplest: Any = sp.simplify(expr)
    except (ValueError, TypeError, ArithmeticError, NotImplementedError, sp.PolynomialError):
        # SymPy's own failures (they reached grade() as crashes before): simplify may build
        # an integer too long to print, which sorting its generators does (logcombine makes
        # 7*(8718 + log(55*b)) the log of a 61027-digit one), or compare a Relational
        # (cosh(b + i)^(cos(3^oo)*sign(5))).
        return None
    return max(_expr_size(simplest), _spelled_size(sp, simplest))


def _small_powers(sp: Any, expr: Any) -> bool:
    """No power SymPy would work out beyond MAX_POWER, as built: x^((2*i)^28) is x^(2^28*i^28),
    which polynomial code holds as a power 268435456 of x^(i^28)."""
    for atom in expr.atoms(sp.Pow, sp.exp):
        exponent = atom.exp if atom.is_Pow else atom.args[0]
        if exponent.free_symbols:
            exponent = sp.expand(exponent)  # a^((n + z)^37): binomial coefficients
        for term in sp.Add.make_args(exponent):
            coefficient = term.as_coeff_Mul()[0]
            if coefficient.is_finite and abs(coefficient) > MAX_POWER:
                return False
    return True


def _huge(number: Any) -> bool:
    """A number beyond MAX_NUMBER (or a fraction with such a numerator or denominator)."""
    if number.is_Rational:
        return bool(abs(number.p) > MAX_NUMBER or number.q > MAX_NUMBER)
    return bool(number.is_finite and abs(number) > MAX_NUMBER)


def _spelled_size(sp: Any, simplest: Any) -> int:
    """The larger size of `simplest` factored and expanded: both spellings are as simple
    (`x^2 - 1` and `(x - 1)*(x + 1)`, `x*exp(x) + exp(x)` and `(x + 1)*exp(x)`). Functions and
    roots are held as opaque symbols meanwhile (factor would split exp(x + y) into
    exp(x)*exp(y)); 0 when the degree is too high to factor quickly (x^30 + y^30 takes seconds)."""
    opaque = {atom: sp.Dummy() for atom in simplest.atoms(sp.Function, sp.Pow)
              if not (atom.is_Pow and atom.exp.is_Integer)}
    held = simplest.xreplace(opaque)
    if (not (held.is_rational_function() and _factorable(sp, held))
            or any(_huge(number) for number in held.atoms(sp.Number))):
        return 0  # factoring with huge coefficients searches for primes at length
    back = {dummy: atom for atom, dummy in opaque.items()}
    try:
        return max(_expr_size(sp.factor(held).xreplace(back)),
                   _expr_size(sp.expand(held).xreplace(back)))
    except (sp.PolynomialError, NotImplementedError, ValueError):
        return 0


def _bounded(*products: list[ast.Node]) -> bool:
    """Small enough for SymPy to work on: few operators, and each product of factors has few
    terms once multiplied out and put over one denominator."""
    if sum(_typed_size(node) for nodes in products for node in nodes) > MAX_SIMPLIFY_SIZE:
        return False
    if any(_largest_power(node) > MAX_POWER for nodes in products for node in nodes):
        return False
    for nodes in products:
        terms = 1
        for node in nodes:
            terms *= max(_expansion_terms(node))
        if terms > MAX_EXPANDED_TERMS:
            return False
    return True


def _expansion_terms(node: ast.Node, cap: int = MAX_EXPANDED_TERMS + 1) -> tuple[int, int]:
    """About how many terms the numerator and the denominator of `node` have, multiplied out over
    a common denominator, counting no further than `cap`: 1/(a + 1) + 1/(b + 1) + ... is small
    as typed and has 2^n terms so."""
    node = _core(node)
    if isinstance(node, ast.Binary) and node.op == "^":
        top, bottom = _expansion_terms(node.left, cap)
        exponent = _integer_exponent(node.right)
        if exponent is None:  # x^y, x^(1/2): not multiplied out
            inner = max(_expansion_terms(node.right, cap))
            return min(max(top, inner), cap), bottom
        if exponent < 0:
            top, bottom = bottom, top
        return _power_terms(top, abs(exponent), cap), _power_terms(bottom, abs(exponent), cap)
    if isinstance(node, ast.Binary):
        top, bottom = _expansion_terms(node.left, cap)
        right_top, right_bottom = _expansion_terms(node.right, cap)
        if node.op in "+-":
            top, bottom = top * right_bottom + right_top * bottom, bottom * right_bottom
        elif node.op == "*":
            top, bottom = top * right_top, bottom * right_bottom
        else:
            top, bottom = top * right_bottom, bottom * right_top
        return min(top, cap), min(bottom, cap)
    if isinstance(node, ast.Call | ast.Sequence):
        inner = max((max(_expansion_terms(child, cap)) for child in node.children()), default=1)
        return inner, 1
    return 1, 1


def _largest_power(node: ast.Node) -> int:
    """The largest power SymPy may have to work out in `node`: integer exponents nested in one
    another multiply ((x^60)^60 is x^3600), and a number written in any other exponent, or in
    the argument of exp or a hyperbolic function, counts as it is (simplify takes a^(10^30*y)
    apart into (a^y)^(10^30), and sinh(10^30 - x) into exponentials). Capped above MAX_POWER."""
    cap = MAX_POWER + 1
    largest = 1
    stack: list[tuple[ast.Node, int]] = [(node, 1)]
    while stack:
        current, outer = stack.pop()
        exponents: tuple[ast.Node, ...] = ()
        if isinstance(current, ast.Binary) and current.op == "^":
            power = _integer_exponent(current.right)
            if power is not None:
                inner = min(outer * max(abs(power), 1), cap)
                largest = max(largest, inner)
                stack.append((current.left, inner))
                continue
            exponents = (current.right,)
            stack.append((current.left, outer))
        elif isinstance(current, ast.Call) and current.name in _EXPONENTIAL:
            exponents = current.args
        else:
            stack.extend((child, outer) for child in current.children())
        for exponent in exponents:
            for child in ast.walk(exponent):
                if isinstance(child, ast.Number):
                    largest = max(largest, min(math.ceil(abs(child.value)), cap))
            stack.append((exponent, 1))
    return largest


def _power_terms(terms: int, exponent: int, cap: int) -> int:
    """The terms of (a sum of `terms` terms)^exponent, multiplied out."""
    if terms == 1 or exponent == 0:
        return 1
    if exponent > cap:
        return cap
    return min(math.comb(exponent + terms - 1, terms - 1), cap)


# ------------------------------------------------------------------------------- sizes


def _typed_size(node: ast.Node) -> int:
    """The operators in the tree as typed, counted as `_expr_size` counts a SymPy expression:
    `-1 + x` is `x - 1`, `1/2*x` is `x/2`, `x^(1/2)` is `sqrt(x)`."""
    node = ast.strip_groups(node)
    if isinstance(node, ast.Unary):
        return (node.op == "-") + _typed_size(node.operand)
    if isinstance(node, ast.Binary) and node.op in "+-":
        terms = _signed_terms(node)
        size = len(terms) - 1 + sum(_typed_size(term) for term, _ in terms)
        if _leading_minus(terms[0][0]) and any(
                positive and not _leading_minus(term) for term, positive in terms[1:]):
            size -= 1  # -1 + x is written x - 1
        return size
    if isinstance(node, ast.Binary) and node.op in "*/":
        chain = _chain(node)
        return (chain.minus_signs + sum(_typed_size(f) for f in chain.factors)
                + max(len(chain.numerator) - 1, 0) + len(chain.denominator))
    if isinstance(node, ast.Binary):  # ^
        fraction = _literal_fraction(node.right)
        exponent = _typed_size(node.right) - (fraction is not None)
        return 1 + _typed_size(node.left) + exponent
    if isinstance(node, ast.Call):
        return 1 + sum(_typed_size(arg) for arg in node.args)
    if isinstance(node, ast.Sequence):
        return sum(_typed_size(item) for item in node.items)
    return 0


def _signed_terms(node: ast.Node, positive: bool = True) -> list[tuple[ast.Node, bool]]:
    """The terms of a run of `+` and `-` (through parentheses only), each with whether it is
    added."""
    core = ast.strip_groups(node)
    if isinstance(core, ast.Binary) and core.op in "+-":
        return (_signed_terms(core.left, positive)
                + _signed_terms(core.right, positive == (core.op == "+")))
    return [(core, positive)]


def _leading_minus(node: ast.Node) -> bool:
    node = ast.strip_groups(node)
    while isinstance(node, ast.Binary) and node.op in "*/":
        node = ast.strip_groups(node.left)
    return isinstance(node, ast.Unary) and node.op == "-"


def _expr_size(expr: Any) -> int:
    """The operators a learner would type for a SymPy expression (see `_typed_size`)."""
    from ..language.builder import load_sympy

    sp = load_sympy()

    if expr.is_Rational:
        return int(expr.q != 1) + int(expr.p < 0)
    if expr.is_Number:
        return int(bool(expr.is_extended_negative))
    if expr.is_Atom:
        return 0
    if expr.is_Add:
        negative = [term.could_extract_minus_sign() for term in expr.args]
        return (len(expr.args) - 1 + int(all(negative))
                + sum(_expr_size(-term if minus else term)
                      for term, minus in zip(expr.args, negative, strict=True)))
    if expr.is_Mul:
        coefficient, factors = expr.as_coeff_mul()
        size = 0
        if coefficient.is_extended_negative:
            size, coefficient = 1, -coefficient
        numerator: list[Any] = []
        denominator: list[Any] = []
        if coefficient.is_Rational:
            numerator += [sp.Integer(coefficient.p)] if coefficient.p != 1 else []
            denominator += [sp.Integer(coefficient.q)] if coefficient.q != 1 else []
        elif coefficient != 1:
            numerator.append(coefficient)
        for factor in factors:
            if factor.is_Pow and factor.exp.could_extract_minus_sign():
                denominator.append(_reciprocal(sp, factor))
            else:
                numerator.append(factor)
        return (size + sum(_expr_size(f) for f in numerator + denominator)
                + max(len(numerator) - 1, 0) + len(denominator))
    if expr.is_Pow:
        base, exponent = expr.base, expr.exp
        if exponent.could_extract_minus_sign():
            return 1 + _expr_size(_reciprocal(sp, expr))
        if exponent.is_Rational and not exponent.is_Integer:
            # sqrt(x), x^(3/2); the latter may as well be written x*sqrt(x), x^(7/2) x^3*sqrt(x)
            whole = abs(exponent.p) // exponent.q
            size = _expr_size(base)
            if whole == 0:
                return 1 + size
            return max(1 + size, (size if whole == 1 else 1 + size) + 1 + size + 1)
        return 1 + _expr_size(base) + _expr_size(exponent)
    return 1 + sum(_expr_size(arg) for arg in expr.args)


def _reciprocal(sp: Any, power: Any) -> Any:
    return power.base if power.exp == -1 else sp.Pow(power.base, -power.exp)
