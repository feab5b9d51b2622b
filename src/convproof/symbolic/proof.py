"""Proofs, evidence and theorems.

A :class:`Derivation` is a chain e0 = e1 = ... = en; each link names a rule and is checked by
applying the rule to the previous expression and comparing with the next in normal form.  A
:class:`Claim` is an equation with its hypotheses; a universal proof of it is a derivation from
its left side to its right side.  Evidence comes in four kinds, strongest first:

- ``universal``: a checked derivation for symbolic sizes (multi-indices: every number of dims);
- ``certified``: the claim evaluated exactly (symbolic entries) on every point of a grid;
- ``refuted``: a false claim with a concrete witness on which the two sides differ;
- ``numeric``: floating-point checks (never enough on their own).

A :class:`Theorem` gathers the evidence of one catalog id; its result says which levels were
reached.  Any exception while proving is a failure, never a pass.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any
from collections.abc import Callable, Iterable

import sympy
from sympy import Expr, Symbol

from . import consistency
from .language import (OF_THE_ENTRIES, DefinedName, SignalName, ZSum, definitions_reached,
                       substitute)
from .normal import INFINITIES, NoPoints, ProofError, check_exact, nonzero_where, normal_form
from .rules import RULES, Rule, apply_rule, check_instance, refuse_inside_operators, rule
from ..catalog import CATALOG, module_name

LEVELS = ("universal", "certified", "refuted", "numeric")


# --------------------------------------------------------------------------------------------
# Claims and derivations
# --------------------------------------------------------------------------------------------


@dataclass
class Claim:
    """lhs = rhs for all values of the free symbols satisfying their assumptions, the
    ``hypotheses`` (equations symbol = value, sum = value, or either side for every value of
    some indices: :func:`~.rules_sums.every`) and ``nonzero``: where each of those expressions
    is not 0 (relu'(x) = [x > 0] for x ≠ 0, where relu is differentiable)."""

    name: str
    lhs: Expr
    rhs: Expr
    hypotheses: tuple[sympy.Eq, ...] = ()
    text: str = ""
    indices: dict = field(default_factory=dict)  # free index -> its box, for certificates
    nonzero: tuple[Expr, ...] = ()

    def __post_init__(self) -> None:
        self.lhs = _read(self.lhs, f"the left side of {self.name!r}")  # 0, not int 0
        self.rhs = _read(self.rhs, f"the right side of {self.name!r}")
        if not isinstance(self.hypotheses, Iterable) or isinstance(self.hypotheses, str):
            raise ProofError(f"the hypotheses of {self.name!r} are a tuple of equations, not "
                             f"{self.hypotheses!r}")
        self.hypotheses = tuple(self.hypotheses)  # read once: a list changed later, or a
        # generator used up by these checks, would make the claim say something else
        for h in self.hypotheses:  # n < k read as n = k would prove x[n] = x[k]
            if not isinstance(h, sympy.Equality):
                raise ProofError(f"the hypothesis {h!r} of {self.name!r} is no equation: a "
                                 "claim takes equations (a bound belongs in a bracket of the "
                                 "claim)")
        if not isinstance(self.indices, dict):
            raise ProofError(f"indices of {self.name!r} maps free index symbols to their "
                             f"boxes, not {self.indices!r}")
        for side in (self.lhs, self.rhs):
            if not isinstance(side, sympy.Expr):
                raise ProofError(f"the side {side} of {self.name!r} is a truth value, not an "
                                 "expression (a relation belongs in a bracket)")
        if not isinstance(self.nonzero, (tuple, list)):
            raise ProofError(f"nonzero of {self.name!r} is a tuple of expressions, not "
                             f"{self.nonzero!r}")
        boxes = [_read(box, f"an index box of {self.name!r}") for box in self.indices.values()]
        if not all(isinstance(index, Symbol) for index in self.indices) or not all(
                isinstance(box, sympy.Expr) and not isinstance(box, sympy.Lambda)
                for box in boxes):
            raise ProofError(f"indices of {self.name!r} maps free index symbols to their "
                             f"boxes (products of brackets), not {self.indices}")
        self.nonzero = tuple(_read(u, f"a nonzero condition of {self.name!r}")
                             for u in self.nonzero)
        for u in self.nonzero:
            if not isinstance(u, sympy.Expr):
                raise ProofError(f"the condition {u} ≠ 0 of {self.name!r} is not about an "
                                 "expression")
        stated = (self.lhs, self.rhs, *self.nonzero,
                  *(side.expr if isinstance(side, sympy.Lambda) else side
                    for h in self.hypotheses for side in h.args))
        check_exact(*stated)
        _refuse_lookalike_signals(self.name, stated)
        if _holds_infinity(stated):  # [0 ≤ oo·t] was decided 1, though at t = 0 it is nan
            raise ProofError(f"{self.name!r} holds an infinity or nan")
        contradiction = consistency.contradiction(self.hypotheses)
        if contradiction:
            raise ProofError(f"the hypotheses of {self.name!r} contradict each other: "
                             f"{contradiction} (under them every claim holds)")

    def instantiate(self, mapping: dict) -> Claim:
        return Claim(
            self.name,
            substitute(self.lhs, mapping),
            substitute(self.rhs, mapping),
            tuple(
                sympy.Eq(substitute(h.lhs, mapping), substitute(h.rhs, mapping), evaluate=False)
                for h in self.hypotheses
            ),
            self.text,
            {index: substitute(box, mapping) for index, box in (
                (substitute(k, mapping), v) for k, v in self.indices.items())
             if isinstance(index, Symbol)},  # an index set to an expression is free no more
            tuple(substitute(u, mapping) for u in self.nonzero),
        )


def _read(value: Any, what: str) -> Any:
    """``value`` as SymPy reads it (a string parsed); one it cannot read is a ProofError
    naming ``what``."""
    try:
        return sympy.sympify(value)
    except sympy.SympifyError as exc:
        raise ProofError(f"{what} is {value!r}, which SymPy cannot read: {exc}") from None


def _refuse_lookalike_signals(name: str, stated: tuple[Expr, ...]) -> None:
    """Two signals that print alike in one claim (with the definitions it reaches): the rules,
    laws and definitions tell them apart by their bases, a reader by their names alone."""
    seen: dict[str, Expr] = {}
    for expr in (*stated, *(body for e in stated for body in definitions_reached(e))):
        for base in expr.atoms(sympy.IndexedBase):
            if seen.setdefault(str(base), base) != base:
                raise ProofError(f"two signals of {name!r} print as {base}: name them apart")


@dataclass
class Step:
    """``rule`` turns the previous expression into ``expr``; with ``backwards`` the rule turns
    ``expr`` into the previous one (a delta introduced, a definition folded back)."""

    rule: str
    expr: Expr
    why: str = ""
    params: dict = field(default_factory=dict)
    backwards: bool = False


@dataclass
class StepCheck:
    step: Step
    ok: bool
    message: str = ""


class Derivation:
    """start = e1 = e2 = ...: each link rule-checked in normal form."""

    def __init__(self, start: Expr, title: str = ""):
        self.start = sympy.sympify(start)
        self.title = title
        self.steps: list[Step] = []

    def by(self, rule_name: str, expr: Expr, why: str = "", **params: Any) -> Derivation:
        """Next link: ``rule_name`` turns the current expression into ``expr``."""
        _expect(rule_name=(rule_name, str))
        self.steps.append(Step(rule_name, _read(expr, f"step {len(self.steps) + 1}"), why,
                               params))
        return self

    def back(self, rule_name: str, expr: Expr, why: str = "", **params: Any) -> Derivation:
        """Next link, read right to left: ``rule_name`` turns ``expr`` into the current one."""
        _expect(rule_name=(rule_name, str))
        self.steps.append(Step(rule_name, _read(expr, f"step {len(self.steps) + 1}"), why,
                               params, backwards=True))
        return self

    @property
    def end(self) -> Expr:
        return self.steps[-1].expr if self.steps else self.start

    def check(self, hypotheses: Iterable[sympy.Eq] = (),
              nonzero: Iterable[Expr] = ()) -> list[StepCheck]:
        """Each link, under the claim's hypotheses and where its ``nonzero`` expressions are."""
        claim_says = {"assumed": tuple(hypotheses), "nonzero": tuple(nonzero)}
        checks, previous = [], self.start
        for step in self.steps:
            checks.append(_check_link(previous, step, claim_says))
            previous = step.expr
        return checks


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _check_link(previous: Expr, step: Step, claim_says: dict[str, tuple]) -> StepCheck:
    """One link.  A rule that takes ``assumed`` (the claim's hypotheses) or ``nonzero`` (the
    expressions it is stated where they are not 0) gets the claim's, never the step's own."""
    if "equation" in step.params and step.params["equation"] not in claim_says["assumed"]:
        return StepCheck(step, False, f"{step.params['equation']} is not a hypothesis of the claim")
    infinite = [name for name, value in step.params.items() if _holds_infinity(value)]
    if infinite:  # a factor oo cancels from [oo·a ≥ 0] as if it were a number
        return StepCheck(step, False, f"the parameter {infinite[0]} holds an infinity or nan")
    source, target = (step.expr, previous) if step.backwards else (previous, step.expr)
    params = dict(step.params)
    if step.rule in RULES:
        params.update({name: value for name, value in claim_says.items()
                       if name in RULES[step.rule].signature.parameters})
    try:
        check_exact(source, target)
        candidate, count = apply_rule(step.rule, source, **params)
        if count == 0:
            return StepCheck(step, False, f"rule '{step.rule}' applies nowhere here")
        check_exact(candidate)
        difference = normal_form(candidate).difference(normal_form(target))
    except ProofError as exc:
        return StepCheck(step, False, str(exc))
    except Exception as exc:  # noqa: BLE001  (parameters it cannot take: a failed step)
        return StepCheck(step, False, f"the check of rule '{step.rule}' raised "
                                      f"{type(exc).__name__}: {exc}")
    if difference:
        shown = " + ".join(_shorten(str(d)) for d in difference[:3])
        more = f" (and {len(difference) - 3} more terms)" if len(difference) > 3 else ""
        return StepCheck(
            step, False, f"after '{step.rule}' the expressions differ by {shown}{more}"
        )
    return StepCheck(step, True)


def _holds_infinity(value: Any) -> bool:
    """A SymPy value holding oo, -oo, zoo or nan, alone or inside a tuple, list or dict."""
    if isinstance(value, dict):
        return any(map(_holds_infinity, (*value, *value.values())))
    if isinstance(value, (tuple, list, set, frozenset)):
        return any(map(_holds_infinity, value))
    return isinstance(value, sympy.Basic) and value.has(*INFINITIES)


# --------------------------------------------------------------------------------------------
# Evidence and results
# --------------------------------------------------------------------------------------------


@dataclass
class Evidence:
    """One piece of evidence for (or against) a claim."""

    kind: str
    title: str
    ok: bool
    message: str = ""
    seconds: float = 0.0
    claim: Claim | None = None
    derivation: Derivation | None = None
    checks: list[StepCheck] = field(default_factory=list)
    grid: list[dict] = field(default_factory=list)
    witness: dict | None = None
    details: dict = field(default_factory=dict)


def _expect(**arguments: tuple[Any, type]) -> None:
    """Each argument of the type given beside it, else a TypeError naming it."""
    for name, (value, kind) in arguments.items():
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")


def universal(claim: Claim, derivation: Derivation, title: str = "") -> Evidence:
    """Evidence that ``derivation`` proves ``claim``: it starts at the left side, ends at the
    right side, and every link checks."""
    started = time.perf_counter()
    _expect(claim=(claim, Claim), derivation=(derivation, Derivation))
    checks = derivation.check(claim.hypotheses, claim.nonzero)
    problems = [
        f"step {i + 1} ({c.step.rule}): {c.message}" for i, c in enumerate(checks) if not c.ok
    ]
    try:
        if normal_form(derivation.start) != normal_form(claim.lhs):
            problems.insert(0, "the derivation does not start at the claim's left side")
        if normal_form(derivation.end) != normal_form(claim.rhs):
            problems.append("the derivation does not end at the claim's right side")
    except ProofError as exc:
        problems.append(str(exc))
    return Evidence(
        "universal",
        title or derivation.title or claim.name,
        not problems,
        "; ".join(problems) or f"{len(checks)} steps checked",
        time.perf_counter() - started,
        claim,
        derivation,
        checks,
    )


INDUCTION_STARTS = (
    (0, Symbol("n", integer=True, nonnegative=True).assumptions0),
    (1, Symbol("n", integer=True, positive=True).assumptions0),
)
"""The least value of an induction variable, by its assumptions: exactly those of a
nonnegative integer, or of a positive one (an even n would skip from n to n + 2)."""


def induction(claim: Claim, variable: Symbol, base: Derivation, step: Derivation,
              title: str = "") -> list[Evidence]:
    """Evidence that ``claim`` P(n) holds for every value n0, n0 + 1, ... of ``variable`` n:
    ``base`` proves P(n0) and ``step`` proves P(n + 1) for every n from P(n), the induction
    hypothesis Eq(lhs, rhs), which the step uses like any hypothesis of the claim.

    n must be a nonnegative (n0 = 0) or positive (n0 = 1) integer symbol (not a multi-index)
    of the claim's sides and nowhere else: in a hypothesis, a nonzero condition, an index box
    or a definition it would make P(n) a different statement at n and at n + 1.  Returns the
    evidence of the base, of the step and of the conclusion."""
    _expect(claim=(claim, Claim), base=(base, Derivation), step=(step, Derivation))
    start = next((value for value, facts in INDUCTION_STARTS  # a subclass may answer is_*
                  if type(variable) in (Symbol, sympy.Dummy) and variable.assumptions0 == facts),
                 None)
    if start is None:
        raise ProofError(f"induction runs over an integer symbol that is nonnegative or "
                         f"positive and nothing else, not {variable!r}")
    sides = (claim.lhs, claim.rhs)
    if not any(variable in side.free_symbols for side in sides):
        raise ProofError(f"{variable} does not occur in the claim {claim.name!r}")
    boxes = [sympy.sympify(box) for box in claim.indices.values()]
    others = [*(side for h in claim.hypotheses for side in h.args), *claim.nonzero, *boxes]
    elsewhere = set().union(*(e.free_symbols for e in others), claim.indices,
                            *(hidden_symbols(e) for e in (*sides, *others)))
    if variable in elsewhere:
        raise ProofError(f"{variable} occurs in {claim.name!r} beyond its two sides (a "
                         "hypothesis, a nonzero condition, an index box or a definition)")
    assumed = sympy.Eq(claim.lhs, claim.rhs, evaluate=False)
    at_start = replace(claim.instantiate({variable: start}),
                       name=f"{claim.name} at {variable} = {start}")
    after = replace(claim.instantiate({variable: variable + 1}),
                    hypotheses=(*claim.hypotheses, assumed),
                    name=f"{claim.name} at {variable} + 1")
    title = title or claim.name
    proofs = [universal(at_start, base, f"{title}: the case {variable} = {start}"),
              universal(after, step, f"{title}: from {variable} to {variable} + 1, "
                                     "assuming the claim at " + str(variable))]
    failed = [part for part, e in zip(("the case", "the step"), proofs) if not e.ok]
    message = (" and ".join(failed) + " failed (above)" if failed else
               f"by induction on {variable} = {start}, {start + 1}, ...: the case {variable} "
               f"= {start} and the step from {variable} to {variable} + 1, both above")
    return [*proofs, Evidence("universal", title, not failed, message,
                              sum(e.seconds for e in proofs), claim)]


@dataclass
class Result:
    """The outcome of proving one catalog id."""

    id: str
    required: tuple[str, ...]
    evidence: list[Evidence]
    seconds: float

    @property
    def levels(self) -> list[str]:
        reached = {e.kind for e in self.evidence if e.ok}
        return [level for level in LEVELS if level in reached]

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.evidence) and set(self.required) <= set(self.levels)

    @property
    def message(self) -> str:
        failed = [f"{e.kind} '{e.title}': {e.message}" for e in self.evidence if not e.ok]
        missing = [level for level in self.required if level not in self.levels]
        parts = failed + ([f"level not reached: {', '.join(missing)}"] if missing else [])
        if parts:
            return "; ".join(parts)
        return ", ".join(f"{e.kind}: {e.title}" for e in self.evidence)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "ok": self.ok,
            "levels": self.levels,
            "seconds": round(self.seconds, 3),
            "message": self.message,
        }


# --------------------------------------------------------------------------------------------
# Theorems
# --------------------------------------------------------------------------------------------

THEOREMS: dict[str, Theorem] = {}


@dataclass
class Mutant:
    """A wrong statement; it is killed when some evidence built for it fails, or when the
    engine refuses to build it (a :class:`ProofError` about the statement).  Any other
    exception, and a check given no point (:class:`NoPoints`), is an error of the mutant: it
    kills nothing."""

    name: str
    theorem: str
    build: Callable[[], Evidence | list[Evidence]]

    def run(self) -> dict:
        started = time.perf_counter()
        try:
            made = self.build()
            evidence = made if isinstance(made, list) else [made]
        except Exception as exc:
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            refused = isinstance(exc, ProofError) and not isinstance(exc, NoPoints)
            return {
                "mutant": self.name,
                "theorem": self.theorem,
                "killed": refused,
                "by": f"refused: {detail}" if refused else f"error, nothing checked: {detail}",
                "seconds": round(time.perf_counter() - started, 3),
            }
        failed = [e for e in evidence if not e.ok]
        by = "; ".join(f"{e.kind}: {e.message}" for e in failed)
        return {
            "mutant": self.name,
            "theorem": self.theorem,
            "killed": bool(failed),
            "by": by or "nothing: every check passed",
            "seconds": round(time.perf_counter() - started, 3),
        }


class Theorem:
    """A catalog id: its statement, the evidence builders, and the claims other proofs may use."""

    def __init__(
        self,
        id: str,
        title: str,
        statement: str,
        depends: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ):
        if id not in CATALOG:
            raise ProofError(f"{id!r} is not a catalog id")
        self.id, self.title, self.statement = id, title, statement
        self.required = CATALOG[id].levels
        self.depends, self.notes = depends, notes
        self.builders: list[Callable[[], Evidence | list[Evidence]]] = []
        self.mutants: list[Mutant] = []
        self.expressions: dict[str, Expr] = {}  # index maps that the kernels print
        self.signals: dict[str, Any] = {}  # defined signals other code evaluates
        self.certifiable: Claim | None = None  # the claim certify(id, spec, shape) checks
        self.claims: dict[str, Claim] = {}
        self._result: Result | None = None
        self._proving = False
        THEOREMS[id] = self

    def evidence(self, builder: Callable[[], Evidence | list[Evidence]]):
        """Decorator: register a function that returns evidence for this theorem."""
        self.builders.append(builder)
        return builder

    def mutant(self, name: str):
        """Decorator: register a wrong statement (a builder of evidence that must fail)."""

        def register(builder: Callable[[], Evidence | list[Evidence]]):
            self.mutants.append(Mutant(name, self.id, builder))
            return builder

        return register

    def export(self, claim: Claim) -> Claim:
        """Make a claim available to other theorems (once proved universally)."""
        self.claims[claim.name] = claim
        return claim

    def prove(self) -> Result:
        if self._proving:
            raise ProofError(
                f"{self.id} uses its own claims while it is being proved: prove the "
                "lemma as a derivation of its own, or in a theorem it depends on"
            )
        if self._result is None:
            self._proving = True
            started = time.perf_counter()
            evidence: list[Evidence] = []
            for builder in self.builders:
                t0 = time.perf_counter()
                try:
                    made = builder()
                    evidence.extend(made if isinstance(made, list) else [made])
                except Exception as exc:  # a proof that crashes is a failed proof
                    detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
                    evidence.append(
                        Evidence(
                            "failed", builder.__name__, False, detail, time.perf_counter() - t0
                        )
                    )
            self._result = Result(self.id, self.required, evidence, time.perf_counter() - started)
            self._proving = False
        return self._result

    def render(self):
        """The report section of this theorem (statement, checked steps, grid, witness)."""
        from ..report.sections import build_section

        return build_section(self, self.prove())

    def reset(self) -> None:
        self._result = None


def load(theorem_id: str) -> Theorem:
    """Import the proof module of a catalog id and return its theorem."""
    if theorem_id not in CATALOG:
        raise ProofError(f"unknown theorem id {theorem_id!r}")
    if theorem_id not in THEOREMS:
        try:
            importlib.import_module(f"convproof.proofs.{module_name(theorem_id)}")
        except Exception:  # a module that fails after registering leaves no half theorem
            THEOREMS.pop(theorem_id, None)
            raise
    if theorem_id not in THEOREMS:
        raise ProofError(f"proofs/{module_name(theorem_id)}.py defines no Theorem {theorem_id!r}")
    return THEOREMS[theorem_id]


def dependency_order(ids: Iterable[str]) -> list[str]:
    """The ids with their dependencies first; a cycle is an error."""
    order, state = [], {}

    def visit(tid: str, path: tuple[str, ...]) -> None:
        if state.get(tid) == "done":
            return
        if state.get(tid) == "open":
            raise ProofError("dependency cycle: " + " -> ".join(path + (tid,)))
        state[tid] = "open"
        try:
            depends = load(tid).depends
        except Exception:  # a proof file that does not load fails when it is proved
            depends = ()
        for dep in depends:
            visit(dep, path + (tid,))
        state[tid] = "done"
        order.append(tid)

    for tid in ids:
        visit(tid, ())
    return order


# --------------------------------------------------------------------------------------------
# The rule that uses a proved theorem
# --------------------------------------------------------------------------------------------


def hidden_symbols(expr: Expr) -> set:
    """The symbols ``expr`` holds out of an instance's reach: those of the definitions it
    reaches and of the laws of the random signals it reaches."""
    from .rules_expectation import LAWS, random_signals_in

    laws = [LAWS[base].symbols for base in random_signals_in(expr)]
    return set().union(*(body.free_symbols for body in definitions_reached(expr)), *laws)


@rule(
    "known result", "replace an instance of a claim proved universally elsewhere by its other side"
)
def known(
    expr: Expr,
    theorem: str,
    claim: str,
    instance: dict,
    context: Callable[[Expr], Expr],
    reverse: bool = False,
    assumed: tuple = (),
    nonzero: tuple = (),
) -> tuple[Expr, int]:
    """context(L) = context(R) when L = R holds for all values of its free symbols.

    An instance may only replace symbols that the lemma shows: a symbol inside the definition
    of a signal the lemma uses would keep its general value there.  Each hypothesis of the
    lemma must hold for the instance, or be a hypothesis of the claim being proved; each
    expression the lemma needs nonzero must be so, provably or where the claim is stated."""
    source = load(theorem)
    result = source.prove()
    if claim not in source.claims:
        raise ProofError(f"{theorem} exports no claim {claim!r}")
    general = source.claims[claim]
    proved = [  # the exported statement itself, not an instance of it that keeps its name
        e
        for e in result.evidence
        if e.kind == "universal" and e.ok and e.claim is not None
        and (e.claim.lhs, e.claim.rhs, e.claim.hypotheses, e.claim.nonzero)
        == (general.lhs, general.rhs, general.hypotheses, general.nonzero)
    ]
    if not proved:
        raise ProofError(f"claim {claim!r} of {theorem} is not proved universally")
    # the definitions and laws its sides, hypotheses and nonzero conditions reach alike
    hidden = set().union(*map(hidden_symbols, (general.lhs, general.rhs, *general.nonzero,
                                               *(s for h in general.hypotheses for s in h.args))))
    for symbol, value in instance.items():
        if not isinstance(symbol, Symbol) or isinstance(symbol, (SignalName, DefinedName)):
            raise ProofError(f"an instance replaces symbols of {theorem}/{claim}, not {symbol}")
        check_instance(symbol, sympy.sympify(value))
        if symbol in hidden:
            raise ProofError(
                f"{symbol} occurs inside a definition or a random signal's law used by "
                f"{theorem}/{claim}: an instance cannot reach it (state the case as a "
                "hypothesis instead)"
            )
    values = {symbol: sympy.sympify(value) for symbol, value in instance.items()}
    check_exact(*values.values())  # 1 + 1e20 rounds to 1e20 inside the lemma
    for side in (general.lhs, general.rhs, *general.nonzero,
                 *(s for h in general.hypotheses for s in h.args)):
        # E[y_j] = x_j holds for each j, not for j = [z0 ≥ 0]: the E would average over z0
        refuse_inside_operators(side, values, f"the instance of {theorem}/{claim}")
    lemma = general.instantiate(instance)
    for h in lemma.hypotheses:
        holds = normal_form(h.lhs) == normal_form(h.rhs)
        if not holds and not any(
            h.lhs == a.lhs and normal_form(h.rhs) == normal_form(a.rhs) for a in assumed
        ):
            raise ProofError(
                f"hypothesis {h} of {theorem}/{claim} neither holds for this "
                "instance nor is a hypothesis of the claim"
            )
    for u in lemma.nonzero:
        if not nonzero_where(u, nonzero):
            raise ProofError(f"{theorem}/{claim} holds where {u} ≠ 0, which is neither provable "
                             "for this instance nor where the claim is stated")
    before, after = (lemma.rhs, lemma.lhs) if reverse else (lemma.lhs, lemma.rhs)
    # The context is used only as an expression with a hole (a callable that looked at its
    # argument's structure could turn L = R into anything).  Its sums may bind free symbols of
    # L and R, which is sound as L = R holds for all their values, but not symbols that the
    # lemma's hypotheses constrain or that occur inside its definitions (those stay free).
    hole = sympy.Dummy("hole")
    try:
        shape = sympy.sympify(context(hole))
    except Exception as error:  # noqa: BLE001  (whatever it raises, the step is refused)
        raise ProofError(f"the context of {theorem}/{claim} is not an expression with a "
                         f"hole: on a placeholder it raised {error!r}") from error
    if hole not in shape.free_symbols:
        raise ProofError(f"the context of {theorem}/{claim} does not contain its argument")
    check_exact(shape)
    if (lemma.hypotheses or lemma.nonzero) and any(
            isinstance(node, OF_THE_ENTRIES) and hole in node.args[0].free_symbols
            for node in sympy.preorder_traversal(shape)):
        raise ProofError(f"the context of {theorem}/{claim} puts it inside a derivative or an "
                         "expectation: under its hypotheses it holds at a point, not as a "
                         "function of the entries")
    bound = {zsum_.var for zsum_ in shape.atoms(ZSum)}
    if hole in bound:  # x[hole] summed: the sides would be put in for the variable too
        raise ProofError(f"the context of {theorem}/{claim} sums over its argument")
    constrained = set().union(*(h.free_symbols for h in lemma.hypotheses),
                              *(u.free_symbols for u in lemma.nonzero)) | hidden
    if bound & constrained:
        raise ProofError(f"the context binds {sorted(map(str, bound & constrained))}, which "
                         f"the hypotheses or the definitions of {theorem}/{claim} hold")
    if normal_form(expr) != normal_form(shape.xreplace({hole: before})):
        raise ProofError(f"the expression is not the context applied to {theorem}/{claim}")
    return shape.xreplace({hole: after}), 1


__all__ = [
    "Claim",
    "Derivation",
    "Evidence",
    "Mutant",
    "Result",
    "Theorem",
    "THEOREMS",
    "LEVELS",
    "RULES",
    "Rule",
    "Step",
    "StepCheck",
    "universal",
    "induction",
    "load",
    "dependency_order",
    "known",
]
