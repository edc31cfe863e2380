"""Sample points drawn from each variable's domain, seeded: a submission always gets one verdict.

Real variables are drawn from a mixture: moderate and small values, integers (integer-valued
functions such as floor and mod must not fool the checker), simple fractions (n/2, n/3: where a
principal power can turn real) and log-uniform magnitudes. Each variable's draws depend only on
the seed, its name, its domain and the round, so adding a variable never moves the others' points.
"""

from __future__ import annotations

import functools
import math
import zlib
from fractions import Fraction

import numpy as np

from .options import Domain

__all__ = ["ROUNDS", "exact_points", "sample_variable"]

ROUNDS = 3


def _rng(seed: int, name: str, domain: Domain, round_: int) -> np.random.Generator:
    key = zlib.crc32(f"{name}|{domain}".encode())
    return np.random.default_rng([seed, key, round_])


def _real_mixture(rng: np.random.Generator, n: int, round_: int) -> np.ndarray:
    if round_ == 0:
        parts = [
            rng.uniform(-5, 5, n * 3 // 10),
            rng.uniform(-1, 1, n * 2 // 10),
            rng.integers(-6, 7, n * 15 // 100).astype(float),
            rng.integers(-12, 13, n * 15 // 100) / rng.choice([2, 3, 4], n * 15 // 100),
        ]
        rest = n - sum(len(p) for p in parts)
        magnitudes = 10 ** rng.uniform(-2, 1.5, rest) * rng.choice([-1, 1], rest)
        values = np.concatenate(parts + [magnitudes])
    elif round_ == 1:
        values = np.concatenate([
            rng.uniform(-30, 30, n // 2),
            10 ** rng.uniform(-3, 3, n - n // 2) * rng.choice([-1, 1], n - n // 2),
        ])
    else:
        values = np.concatenate([
            rng.uniform(-0.2, 0.2, n // 2),
            rng.uniform(1, 3, n - n // 2) * rng.choice([-1, 1], n - n // 2),
        ])
    rng.shuffle(values)
    return values


def sample_variable(domain: Domain, name: str, n: int, seed: int, round_: int) -> np.ndarray:
    """`n` complex sample values of one variable for the given sampling round (read-only: the
    same draws serve every reference that has this variable)."""
    return _sample_variable(domain, name, n, seed, round_)


@functools.lru_cache(maxsize=512)
def _sample_variable(domain: Domain, name: str, n: int, seed: int, round_: int) -> np.ndarray:
    values = _draw_variable(domain, name, n, seed, round_)
    values.flags.writeable = False
    return values


def _draw_variable(domain: Domain, name: str, n: int, seed: int, round_: int) -> np.ndarray:
    rng = _rng(seed, name, domain, round_)
    if isinstance(domain, tuple):
        low, high = domain
        values = rng.uniform(low, high, n)
        integers = np.arange(np.ceil(low), np.floor(high) + 1)
        integers = integers[(integers > low) & (integers < high)]
        if len(integers):
            count = min(len(integers), n // 5)
            values[:count] = rng.choice(integers, count, replace=False)
        return values.astype(complex)
    if domain == "integer":
        spread = (6, 15, 40)[round_]
        values = rng.integers(-spread, spread + 1, n).astype(float)
        if round_ == 0:
            # A fifth further out, up to 1000: abs(n - 15) is not 15 - n, nor max(n, 20) 20.
            far = n // 5
            values[:far] = (np.round(10 ** rng.uniform(np.log10(7), 3, far))
                            * rng.choice([-1, 1], far))
            rng.shuffle(values)
        return values.astype(complex)
    if domain == "positive":
        values = np.abs(_real_mixture(rng, n, round_))
        values[values == 0] = 0.5
        return values.astype(complex)
    if domain == "complex":
        real = _real_mixture(rng, n, round_)
        imag = _real_mixture(np.random.default_rng([seed, 7, round_]), n, round_)
        return real + 1j * imag
    return _real_mixture(rng, n, round_).astype(complex)


def exact_points(
    domains: dict[str, Domain], count: int, seed: int, piecewise: bool
) -> list[dict[str, Fraction]]:
    """Random rational points for exact comparison of rational functions.

    Large random numerators and denominators make an accidental zero of a nonzero rational
    function improbable (Schwartz-Zippel), so a few points decide. Piecewise functions (floor,
    mod, gcd, abs...) differ on sets a generic point rarely hits, so with `piecewise` the points
    cycle through generic rationals, small integers, and integers plus 1/2, 1/3 and 3/4.
    """
    rng = np.random.default_rng([seed, 99])
    kinds = ("generic", "integer", "half", "third", "generic", "quarter") if piecewise else (
        "generic",)
    points = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        points.append({name: _exact_value(rng, domain, kind)
                       for name, domain in sorted(domains.items())})
    return points


_OFFSETS = {"integer": Fraction(0), "half": Fraction(1, 2), "third": Fraction(1, 3),
            "quarter": Fraction(3, 4)}


def _exact_value(rng: np.random.Generator, domain: Domain, kind: str) -> Fraction:
    if domain == "integer":
        if kind == "generic":  # a third of a piecewise check's points: up to 1000 away
            magnitude = int(round(10 ** rng.uniform(0, 3)))
            return Fraction(magnitude if rng.random() < 0.5 else -magnitude)
        return Fraction(int(rng.integers(-12, 13)))
    if isinstance(domain, tuple):
        low, high = Fraction(domain[0]), Fraction(domain[1])
        if kind in _OFFSETS and high - low >= 2:
            start, stop = math.ceil(low), math.floor(high) - 1
            return Fraction(int(rng.integers(start, stop + 1))) + _OFFSETS[kind]
        return low + (high - low) * Fraction(int(rng.integers(1, 10**6)), 10**6)
    if kind in _OFFSETS:
        value = Fraction(int(rng.integers(0, 13))) + _OFFSETS[kind]
    else:
        value = Fraction(int(rng.integers(1, 10**6)), int(rng.integers(1, 10**3)))
    if domain == "positive":
        return value if value > 0 else Fraction(1, 2)
    return value if rng.random() < 0.5 else -value


_LATTICE = (-3, -2, -1.5, -1, -2 / 3, -0.5, -1 / 3, 0, 1 / 3, 0.5, 2 / 3, 1, 1.5, 2, 3)
_LATTICE_CAP = 2000


def _lattice_values(domain: Domain) -> np.ndarray:
    values = np.array(_LATTICE)
    if isinstance(domain, tuple):
        low, high = domain
        return values[(values >= low) & (values <= high)]
    if domain == "integer":
        return values[values == np.round(values)]
    if domain == "positive":
        return values[values > 0]
    return values


def lattice_points(names: tuple[str, ...], domains: dict[str, Domain], seed: int) -> np.ndarray:
    """A grid of small integers and simple fractions (at most `_LATTICE_CAP` points).

    Principal powers of negative bases are real only at special exponents (at n = -3/2,
    ((n+1)^(1/(n+1)))^(n+2) is 4): random reals never land there, a lattice of simple
    fractions does. Returns variables x points, complex, read-only.
    """
    return _lattice_points(tuple(domains[name] for name in names), seed)


@functools.lru_cache(maxsize=256)
def _lattice_points(domains: tuple[Domain, ...], seed: int) -> np.ndarray:
    grid = _lattice_grid(domains, seed)
    grid.flags.writeable = False
    return grid


def _lattice_grid(domains: tuple[Domain, ...], seed: int) -> np.ndarray:
    axes = [_lattice_values(domain) for domain in domains]
    if any(len(axis) == 0 for axis in axes):
        return np.zeros((len(domains), 0), dtype=complex)
    total = int(np.prod([len(axis) for axis in axes], dtype=float))
    if total <= _LATTICE_CAP:
        grid = np.meshgrid(*axes, indexing="ij")
        return np.array([g.ravel() for g in grid], dtype=complex)
    rng = np.random.default_rng([seed, 4242])
    return np.array([rng.choice(axis, _LATTICE_CAP) for axis in axes], dtype=complex)


def nudge(points: np.ndarray) -> np.ndarray:
    """Points moved off the lattice by a small, irregular step (generic nearby points)."""
    steps = np.array([0.0013 + 0.00071 * i for i in range(points.shape[0])])[:, None]
    return points + steps * (1 + np.abs(points))
