"""An exact expectation calculus: random signals, their laws, and the rules that move E.

The model.  A *random signal* is an input signal whose entries are real random variables with a
declared :class:`Law`; every other symbol and signal entry is a deterministic real number.
Distinct random signals are independent of each other.  A law states what the proofs may use
and nothing more: the moments E[X^k] of one entry that it fixes (others are unknown), whether
the entries at different indices are independent (identically distributed entries are always
assumed), and whether the joint law of the whole signal is symmetric (X and -X have the same
law).  Every moment that a proof uses exists (the laws fix it).

    E[Σ_B c·D·R] = Σ_B c·D·E[R]                      linearity of expectation
    E[R_1 R_2] = E[R_1]·E[R_2]                       independence (disjoint random signals)
    E[Π_a s[e_a]^(k_a)] = Σ_π Π_{blocks} [equal] [distinct] m_(Σ k)   moments of the law
    E[F(z)] = (E[F(z)] + E[F(-z)]) / 2                symmetry of the law of z

(c: coefficients, D: deterministic atoms such as brackets and input entries, R: random atoms,
B: finitely supported summation variables; π runs over the partitions of the entries into
coinciding indices.)  Each rule is a function registered with :func:`~.rules.rule`; the
randomized tests evaluate its two sides exactly over finite laws (:class:`FiniteLaw`) that
satisfy the declarations.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import sympy
from sympy import Expr, Indexed, IndexedBase, S

from .language import (DefinedName, EqZero, Expectation, Partial, Signal, ZSum, product,
                       signals_of, substitute)
from .normal import ProofError, check_exact, expand_terms, provably_nonneg
from .rules import RuleResult, rule, unfold_all

# --------------------------------------------------------------------------------------------
# Vocabulary: E, laws, random signals
# --------------------------------------------------------------------------------------------


def E(expr) -> Expr:
    """E[expr]."""
    return Expectation(sympy.sympify(expr))


def variance(expr) -> Expr:
    """Var[X] = E[X²] - E[X]²."""
    return E(expr ** 2) - E(expr) ** 2


@dataclass(frozen=True)
class Law:
    """What a proof may use about the entries of a random signal.

    ``moment(k)`` is E[X^k] of one entry, or None where the law leaves it open; entries are
    identically distributed; ``independent``: entries at different indices are independent;
    ``symmetric``: the joint law of all entries is invariant under X -> -X; ``symbols``: the
    free symbols of its parameters (a lemma about the signal holds for their values alone);
    ``exists``: expressions that are ≥ 0 wherever some distribution has these moments (q and
    1 - q for Bernoulli(q)), None where not stated.  Moments alone are linear: a rule that
    reads E[f] ≥ 0 from f ≥ 0 needs a law that provably exists (:attr:`exists_provably`;
    E[z0²] = -2 for 'variance -2' proved log((1 + E[z0²])²) = 2 log(1 + E[z0²])).
    Proofs read the moments through :meth:`declared`.
    """

    name: str
    moment: Callable[[int], Expr | None]
    independent: bool
    symmetric: bool
    symbols: frozenset
    exists: tuple | None = None
    _answers: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    CHECKED_MOMENTS = 8

    def __post_init__(self) -> None:
        """A law made by hand is checked where it could contradict itself, its first
        CHECKED_MOMENTS moments at once (:meth:`declared` checks any other when a proof
        reads it): E[X^0] = 1 (or open)."""
        for k in range(self.CHECKED_MOMENTS):
            self.declared(k)
        if self.declared(0) not in (None, 1):
            raise ProofError(f"the law {self.name}: E[X^0] = 1, not {self.declared(0)}")
        for condition in self.exists or ():
            if sympy.sympify(condition).is_negative:
                raise ProofError(f"no distribution is {self.name}: it needs {condition} ≥ 0")
        if any(self.declared(k) is not None and self.declared(k).is_real is False
               for k in (1, 2)):
            raise ProofError(f"no distribution is {self.name}: the moments of real entries "
                             "are real")

    @property
    def exists_provably(self) -> bool:
        """Some distribution has these moments: E[X] and E[X²], where given, are provably real
        (E[X] = i√2 with E[X²] = -2 has a variance of 0), and each of :attr:`exists` is
        provably ≥ 0."""
        return self.exists is not None and all(provably_nonneg(c) for c in self.exists) \
            and all(self.declared(k) is None or self.declared(k).is_real is True for k in (1, 2))

    def declared(self, k: int) -> Expr | None:
        """E[X^k] as the law first gave it (read again, it is the same number)."""
        if k not in self._answers:
            self._answers[k] = self._checked(k)
        return self._answers[k]

    def _checked(self, k: int) -> Expr | None:
        """``moment(k)`` where it is an exact expression of the declared ``symbols`` alone (an
        instance of a lemma replaces those; an entry would tie the signal to another) and, for
        a symmetric law, 0 at odd k (symmetric with mean 1 proved 1 = 0); else a ProofError."""
        try:
            moment = self.moment(k)
            if moment is None:
                return None
            moment = sympy.sympify(moment, strict=True)
        except Exception as error:  # noqa: BLE001  (whatever it raises or gives, refused)
            raise ProofError(f"the law {self.name} gives no E[X^{k}]: {error!r}") from None
        if not isinstance(moment, Expr):
            raise ProofError(f"the law {self.name} gives E[X^{k}] = {moment!r}, no expression")
        check_exact(moment)
        if moment.atoms(Indexed):
            raise ProofError(f"the law {self.name} gives E[X^{k}] = {moment}: a moment is no "
                             "entry of a signal")
        undeclared = moment.free_symbols - self.symbols
        if undeclared:
            raise ProofError(f"the law {self.name} has E[X^{k}] = {moment}, with "
                             f"{', '.join(sorted(map(str, undeclared)))} not among its symbols")
        if self.symmetric and k % 2 and moment != 0:
            raise ProofError(f"the law {self.name} is symmetric, so E[X^{k}] = 0, not {moment}")
        return moment


def _symbols(*parameters: Expr | None) -> frozenset:
    """The free symbols of a law's parameters, which must be exact (centered(1e20) made
    E[z0²] x0 + x0 - 10^20 x0 = 0 provable) and hold no signal's entries (a parameter drawn
    at random, Bernoulli(z0), would tie the signal to z: E[m0 z0] = E[m0] E[z0] was proved)."""
    given = [sympy.sympify(p) for p in parameters if p is not None]
    check_exact(*given)
    entries = sorted({str(e) for p in given for e in p.atoms(Indexed)})
    if entries:
        raise ProofError(f"a law's parameters are numbers or symbols, not entries of signals: "
                         f"{', '.join(entries)}")
    return frozenset().union(*(p.free_symbols for p in given))


def bernoulli(q) -> Law:
    """Independent Bernoulli(q) entries: E[X^k] = q for every k ≥ 1 (X ∈ {0, 1})."""
    q = sympy.sympify(q)
    return Law(f"Bernoulli({q})", lambda k: S.One if k == 0 else q, True, False, _symbols(q),
               (q, 1 - q))


def centered(variance_) -> Law:
    """Independent entries with mean 0 and variance σ² (nothing else assumed)."""
    known = {0: S.One, 1: S.Zero, 2: sympy.sympify(variance_)}
    return Law(f"mean 0, variance {variance_}", known.get, True, False, _symbols(variance_),
               (known[2],))


def normal(variance_) -> Law:
    """Independent N(0, σ²) entries: E[X^k] = (k - 1)!! σ^k for even k, 0 for odd k."""
    variance_ = sympy.sympify(variance_)

    def moment(k: int) -> Expr:
        return S.Zero if k % 2 else sympy.factorial2(k - 1) * variance_ ** (k // 2)

    return Law(f"N(0, {variance_})", moment, True, True, _symbols(variance_), (variance_,))


def symmetric(second) -> Law:
    """A jointly symmetric signal (entries not necessarily independent) with E[X²] = v;
    symmetry makes the mean 0."""
    known = {0: S.One, 1: S.Zero, 2: sympy.sympify(second)}
    return Law(f"symmetric, E[X^2] = {second}", known.get, False, True, _symbols(second),
               (known[2],))


def stationary(mean=None, second=None) -> Law:
    """Identically distributed entries (not necessarily independent), with E[X] = mean and
    E[X²] = second where given."""
    known = {0: S.One}
    for k, value in ((1, mean), (2, second)):
        if value is not None:
            known[k] = sympy.sympify(value)
    exists = () if 2 not in known else (known[2],) if 1 not in known else (  # Var X ≥ 0
        known[2] - known[1] ** 2,)
    return Law(f"stationary, E[X] = {mean}, E[X^2] = {second}", known.get, False, False,
               _symbols(mean, second), exists)


LAWS: dict[IndexedBase, Law] = {}


class RandomName(DefinedName):
    """The name of a random signal: unique (as a defined signal's name is), so that two random
    signals never share a law; it prints as its name."""

    def _sympystr(self, printer) -> str:
        return self.name


def random_signal(name: str, law: Law, latex: str | None = None) -> Signal:
    """An input signal whose entries are random with the given law."""
    signal = Signal(name, latex)
    signal.base = IndexedBase(RandomName(name, latex))
    LAWS[signal.base] = law
    return signal


def random_signals_in(expr: Expr) -> set[IndexedBase]:
    """The random signals whose entries ``expr`` depends on (definitions unfolded)."""
    return {base for base in signals_of(unfold_all(expr)) if base in LAWS}


def _is_random(atom: Expr) -> bool:
    return bool(random_signals_in(atom))


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

def _map_expectations(expr: Expr, rewrite: Callable[[Expr], Expr | None]) -> RuleResult:
    """Rewrite the argument of every E atom of every term (None = unchanged); count the
    atoms rewritten."""
    count, pieces = 0, []
    for term in expand_terms(expr):
        body = term.coeff
        for atom in term.atoms:
            new = rewrite(atom.args[0]) if isinstance(atom, Expectation) else None
            count += new is not None
            body *= atom if new is None else new
        for var in reversed(term.bound):
            body = ZSum(body, var)
        pieces.append(body)
    return sympy.Add(*pieces), count


@rule("linearity of expectation", "E[Σ c·D·R] = Σ c·E[R]·D: sums, coefficients and "
      "deterministic factors move out of E")
def expectation_linearity(expr: Expr) -> RuleResult:
    """E is linear; a finitely supported sum (its brackets are deterministic) is a finite sum;
    coefficients and deterministic atoms (brackets, entries of input signals that are not
    random) are constants.  E[c] = c for a deterministic c."""
    def rewrite(argument: Expr) -> Expr | None:
        terms = expand_terms(argument)
        pieces = []
        for term in terms:
            random = [a for a in term.atoms if _is_random(a)]
            fixed = [a for a in term.atoms if not _is_random(a)]
            piece = term.coeff * product(fixed) * (E(product(random)) if random else S.One)
            for var in reversed(term.bound):
                piece = ZSum(piece, var)
            pieces.append(piece)
        result = sympy.Add(*pieces)
        unchanged = len(terms) == 1 and not terms[0].bound and terms[0].coeff == 1 \
            and all(_is_random(a) for a in terms[0].atoms)
        return None if unchanged else result

    return _map_expectations(expr, rewrite)


def _factors(argument: Expr) -> list[Expr] | None:
    """The random atoms of E[argument] when it is one plain product, else None."""
    terms = expand_terms(argument)
    if len(terms) != 1 or terms[0].bound or terms[0].coeff != 1:
        return None
    return list(terms[0].atoms)


@rule("independence", "E[X·Y] = E[X]·E[Y] when X and Y depend on disjoint sets of random "
      "signals (distinct random signals are independent)")
def independence(expr: Expr) -> RuleResult:
    """Split E of a product into the groups of factors that share random signals."""
    def rewrite(argument: Expr) -> Expr | None:
        factors = _factors(argument)
        if factors is None:
            return None
        groups: list[tuple[set, list[Expr]]] = []
        for factor in factors:
            sources = random_signals_in(factor)
            joined = [g for g in groups if g[0] & sources]
            merged = (set(sources), [factor])
            for group in joined:
                groups.remove(group)
                merged = (merged[0] | group[0], group[1] + merged[1])
            groups.append(merged)
        if len(groups) < 2:
            return None
        return product(E(product(members)) for _, members in groups)

    return _map_expectations(expr, rewrite)


def _set_partitions(items: list) -> list[list[list]]:
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    result = []
    for partition in _set_partitions(rest):
        result.append([[first]] + partition)
        for k in range(len(partition)):
            result.append(partition[:k] + [[first] + partition[k]] + partition[k + 1:])
    return result


def _coincide(a: tuple, b: tuple) -> Expr:
    """[a = b] for index tuples, componentwise (a channel index beside a multi-index is that
    index on every axis: b[c] is b[i] where i = (c, ..., c)); 0 for other numbers of
    indices."""
    if len(a) != len(b):
        return S.Zero
    return product(EqZero(sympy.expand(x - y)) for x, y in zip(a, b))


def entries_moment(law: Law, powers: dict[tuple, int], name: str) -> Expr:
    """E[Π_e s[e]^(k_e)] for one random signal with the given law.

    Over the partitions π of the distinct index tuples e: the indices of a block coincide
    (the entries are one variable, the powers add), those of different blocks differ (the
    entries are independent); exactly one π holds for any values of the indices.
    """
    indices = list(powers)
    if len(indices) > 1 and not law.independent:
        raise ProofError(f"the entries of {name} are not independent: E of a product of "
                         f"{len(indices)} of its entries is not fixed by its law {law.name}")
    total = S.Zero
    for partition in _set_partitions(indices):
        value = S.One
        for block in partition:
            moment = law.declared(sum(powers[e] for e in block))
            if moment is None:
                raise ProofError(f"the law {law.name} of {name} does not fix E[X^"
                                 f"{sum(powers[e] for e in block)}]")
            value *= moment * product(_coincide(block[0], e) for e in block[1:])
        for b1, b2 in itertools.combinations(partition, 2):
            value *= 1 - _coincide(b1[0], b2[0])
        total += value
    return total


@rule("moments of the law", "E[X^k] of one entry from the table of its law; products of "
      "entries of one independent signal split by which indices coincide")
def moments(expr: Expr) -> RuleResult:
    """E of a product of powers of entries of one random (input) signal, wherever its law
    fixes it (other E atoms are left alone)."""
    def rewrite(argument: Expr) -> Expr | None:
        factors = _factors(argument)
        if not factors or not all(isinstance(f, Indexed) and f.base in LAWS for f in factors):
            return None
        if any(random_signals_in(index) for f in factors for index in f.indices):
            return None  # w[w0] is not an entry of fixed index: its law is not w's
        bases = {f.base for f in factors}
        if len(bases) != 1:
            return None
        base = bases.pop()
        powers: dict[tuple, int] = {}
        for factor in factors:
            powers[factor.indices] = powers.get(factor.indices, 0) + 1
        try:
            return entries_moment(LAWS[base], powers, str(base.label))
        except ProofError:
            return None

    return _map_expectations(expr, rewrite)


@rule("symmetry", "E[F(z)] = (E[F(z)] + E[F(-z)])/2 for a random signal z whose law is "
      "symmetric (z is independent of the other random signals)")
def symmetry(expr: Expr, signal: Signal) -> RuleResult:
    """Negate every entry of ``signal`` inside each E that depends on it, and average.

    Valid: the joint law of z is invariant under z -> -z and z is independent of the other
    random signals, so the joint law of everything inside E is invariant too.
    """
    law = LAWS.get(signal.base)
    if law is None or not law.symmetric:
        raise ProofError(f"{signal.name} is not a random signal with a symmetric law")

    def flip(node: Expr) -> Expr:
        """F(-z): every entry negated, its indices first (z[z[0]] becomes -z[-z[0]])."""
        if isinstance(node, Indexed) and node.base == signal.base:
            return -node.func(node.base, *(flip(index) for index in node.indices))
        if not node.args:
            return node
        return node.func(*(flip(a) for a in node.args))

    def rewrite(argument: Expr) -> Expr | None:
        unfolded = unfold_all(argument)
        if signal.base not in signals_of(unfolded):
            return None
        if unfolded.atoms(Partial):  # ∂/∂z[e] would become a derivative by -z[e]
            raise ProofError(f"symmetry negates the entries of {signal.name}, and E[...] holds "
                             "a derivative by them: differentiate first")
        return (E(unfolded) + E(flip(unfolded))) / 2

    return _map_expectations(expr, rewrite)


# --------------------------------------------------------------------------------------------
# Finite laws: exact expectations by enumeration (the semantics the rules are tested against)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FiniteLaw:
    """A law with finitely many values: entries drawn independently from it."""

    values: tuple
    probabilities: tuple

    def __post_init__(self):
        if sympy.Add(*map(sympy.sympify, self.probabilities)) != 1:
            raise ValueError(f"probabilities {self.probabilities} do not sum to 1")
        if any(sympy.sympify(p).is_nonnegative is not True for p in self.probabilities):
            raise ValueError(f"probabilities {self.probabilities} must be non-negative")

    def moment(self, k: int) -> Expr:
        return sympy.Add(*(p * v ** k for v, p in self.outcomes()))

    def outcomes(self) -> list[tuple[Expr, Expr]]:
        return [(sympy.sympify(v), sympy.sympify(p))
                for v, p in zip(self.values, self.probabilities)]


MATCHED = 4
"""A finite law stands for its declared law through the moments up to this order."""


def check_member(finite: FiniteLaw, law: Law, values: dict, name: str) -> bool:
    """Refuse a finite law that does not stand for ``law``: its declared moments up to
    MATCHED at the given values of the symbols, and its symmetry; iid entries are always
    allowed.  True when it is ``law`` itself, not only up to MATCHED: every declared moment
    up to 2m + 1 (m values) agrees, which no m-point law does for N(0, σ²) (Gauss's rule
    matches 2m - 1), and which a law of at most m + 1 values meets only by being that law.
    A law that leaves moments open (``centered``, ``symmetric``, ``stationary``) is a family,
    and a finite law meeting what it declares is one member, so True too: a claim is checked
    at that member, as at one size of a grid (E[z⁴] is 1 for z = ±1 and 3 for N(0, 1), both
    of mean 0 and variance 1), and a wrong statement refuted there is refuted for the law."""
    distinct = len({v for v, _ in finite.outcomes()})
    exact = True
    for k in range(1, max(MATCHED, 2 * distinct + 1) + 1):
        declared = law.declared(k)
        if declared is None:
            continue
        declared = substitute(declared, values)
        if sympy.expand(finite.moment(k) - declared) == 0:
            continue
        if k <= MATCHED:
            raise ProofError(f"the finite law of {name} has E[X^{k}] = {finite.moment(k)}, "
                             f"its declared law {law.name} says {declared}")
        exact = False
    if law.symmetric:
        mass = {}
        for v, p in finite.outcomes():
            mass[v] = mass.get(v, 0) + p
        if any(mass.get(-v, 0) != p for v, p in mass.items()):
            raise ProofError(f"the finite law of {name} is not symmetric")
    return exact


__all__ = ["Expectation", "E", "variance", "Law", "bernoulli", "centered", "normal", "symmetric",
           "stationary", "LAWS", "random_signal", "random_signals_in", "entries_moment",
           "FiniteLaw", "MATCHED", "check_member"]
