"""One report section per catalog id, independent of the output format.

A :class:`Section` holds what the reader sees of a theorem: its statement, the levels it reached
against the levels the catalog asks for, each piece of evidence (a checked chain of steps, the
grid of certified instances, a refutation's witness as small matrices), the prose of its proof
file and its corrections of the notes.  :mod:`.html` and :mod:`.markdown` write it out.

The words for the levels are fixed, and said only of evidence that checked:

    universal   proved for all sizes          certified   certified on a grid
    refuted     refuted with a witness        numeric     numeric checks only

Evidence that failed is shown as failed, with its message, whatever its kind.
"""

from __future__ import annotations

import re
import sys
import textwrap
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy
from sympy import Expr

from ..catalog import CATALOG, SECTIONS, module_name
from ..symbolic.proof import Claim, Evidence, Result, Theorem
from ..symbolic.rules import RULES

LEVEL_WORDS = {"universal": "proved for all sizes", "certified": "certified on a grid",
               "refuted": "refuted with a witness", "numeric": "numeric checks only"}
GRID_ROWS = 40        # grid points listed in full; the rest are counted
DIFFERENCE_ROWS = 8   # differing entries of a refutation listed
WITNESS_SIZE = 12     # a witness axis longer than this is listed entry by entry


@dataclass
class Table:
    """A plain table of strings; ``omitted`` rows were left out of ``rows``."""

    columns: list[str]
    rows: list[list[str]]
    omitted: int = 0


@dataclass
class Witness:
    """The entries of one signal of a counterexample: a matrix (a vector is one row) over
    the axes that vary, the other axes fixed at ``label``'s values."""

    name: str
    label: str
    matrix: sympy.Matrix | None
    entries: Table | None = None


@dataclass
class StepView:
    """One link of a derivation: ``rule`` turns the previous line into ``expr`` (or, read
    right to left, ``expr`` into the previous line)."""

    number: int
    rule: str
    description: str
    why: str
    expr: Expr
    backwards: bool
    ok: bool
    message: str
    uses: str | None = None  # the theorem id a "known result" step relies on


@dataclass
class EvidenceView:
    kind: str
    title: str
    ok: bool
    verdict: str
    message: str
    seconds: float
    claim: Claim | None = None
    start: Expr | None = None
    steps: list[StepView] = field(default_factory=list)
    grid: Table | None = None
    point: str | None = None
    witness: list[Witness] = field(default_factory=list)
    differences: Table | None = None
    details: list[tuple[str, Table | str]] = field(default_factory=list)

    @property
    def claim_label(self) -> str:
        """What introduces the claim; it says so where the two sides print alike."""
        if self.kind == "refuted":
            return "The claim refuted"
        if self.claim is not None and self.claim.lhs == self.claim.rhs:
            return ("The claim (its two sides are one expression once the sizes and "
                    "definitions are written out)")
        return "The claim"


@dataclass
class Section:
    """Everything the report shows of one catalog id."""

    id: str
    title: str
    group: str
    statement: str
    required: tuple[str, ...]
    levels: list[str]
    ok: bool
    seconds: float
    message: str
    prose: list[tuple[str, str]]
    notes: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    evidence: list[EvidenceView] = field(default_factory=list)
    loaded: bool = True

    @property
    def status(self) -> str:
        if not self.loaded:
            return "missing"
        return "ok" if self.ok else "failed"

    def html(self) -> str:
        from .html import render_section
        return render_section(self)

    def markdown(self) -> str:
        from .markdown import render_section
        return render_section(self)


# --------------------------------------------------------------------------------------------
# Building a section
# --------------------------------------------------------------------------------------------

def build_section(theorem: Theorem, result: Result) -> Section:
    """The section of a proved theorem: its statement, levels and evidence, its proof file's
    docstring as prose and its notes.  A proof file that did not finish importing (its
    theorem registered, its module gone) fails here, whatever its result says."""
    module = sys.modules.get(f"convproof.proofs.{module_name(theorem.id)}")
    evidence = [_evidence(e) for e in result.evidence]
    if module is None:
        evidence.append(EvidenceView("failed", "load", False, "failed",
                                     "the proof file did not finish importing", 0.0))
    ok = result.ok and module is not None
    return Section(theorem.id, theorem.title, CATALOG[theorem.id].section, theorem.statement,
                   result.required, result.levels, ok, result.seconds, result.message,
                   _prose(module.__doc__ if module else None), tuple(theorem.notes),
                   tuple(theorem.depends), evidence)


def unloaded_section(theorem_id: str, result: Result) -> Section:
    """The section of a catalog id whose proof file could not be loaded: marked missing,
    with the reason."""
    entry = CATALOG[theorem_id]
    return Section(theorem_id, "(its proof file could not be loaded)", entry.section, "",
                   entry.levels, [], False, result.seconds, result.message, [],
                   evidence=[_evidence(e) for e in result.evidence], loaded=False)


def _prose(doc: str | None) -> list[tuple[str, str]]:
    """The docstring as paragraphs ("text", "formula" for lines indented by four spaces,
    "item" for a line starting with "- "); the first line loses its "id: " prefix."""
    paragraphs: list[list[str]] = []
    lines = textwrap.dedent(doc or "").strip().splitlines()
    if lines:
        first = lines[0].split(": ", 1)[-1]
        word = first.split(" ", 1)[0]
        capitalize = word.isalpha() and word.islower() and (len(word) > 1 or word == "a")
        lines[0] = first[0].upper() + first[1:] if capitalize else first
    kind = None
    for line in lines:
        if not line.strip():
            kind = None
            continue
        if line.startswith("    "):
            this, text = "formula", line[4:]
        elif line.startswith("- "):
            this, text, kind = "item", line[2:], None
        elif kind == "item" and line.startswith("  "):
            this, text = "item", line.strip()
        else:
            this, text = "text", line.strip()
        if this == kind:
            paragraphs[-1][1] += ("\n" if kind == "formula" else " ") + text
        else:
            paragraphs.append([this, text])
            kind = this
    return [(kind, _plain(text) if kind != "formula" else text) for kind, text in paragraphs]


def _plain(text: str) -> str:
    """reST markup of a docstring as plain words: :func:`name` and ``name`` become name."""
    return re.sub(r"``([^`]+)``", r"\1", re.sub(r":\w+:`([^`]+)`", r"\1", text))


def _evidence(e: Evidence) -> EvidenceView:
    view = EvidenceView(e.kind, e.title, e.ok, verdict(e), e.message, e.seconds, e.claim)
    if e.derivation is not None:
        view.start = e.derivation.start
        view.steps = _steps(e)
    if e.kind == "refuted":
        view.point = e.grid[0].describe() if e.grid else None
        view.witness = _witness((e.witness or {}).get("entries", {}))
        view.differences = _differences((e.witness or {}).get("differences", {}))
    elif e.grid:
        view.grid = grid_table(e.grid)
    view.details = [(str(name), _detail(value)) for name, value in e.details.items()]
    return view


def _at_fixed_sizes(claim: Claim) -> bool:
    """Every symbol of the claim is set to a number by a hypothesis (an instance, not a
    statement for all sizes)."""
    fixed = {h.lhs for h in claim.hypotheses if sympy.sympify(h.rhs).is_number}
    symbols = sympy.sympify(claim.lhs).free_symbols | sympy.sympify(claim.rhs).free_symbols
    return bool(fixed) and symbols <= fixed


def verdict(e: Evidence) -> str:
    """What a piece of evidence establishes, in the report's fixed words."""
    if not e.ok:
        return "failed"
    if e.kind == "certified":
        return f"certified on a grid of {len(e.grid)} point{'s' * (len(e.grid) != 1)}"
    if e.kind == "universal" and e.claim is not None and _at_fixed_sizes(e.claim):
        return "proved at the sizes stated"
    return LEVEL_WORDS.get(e.kind, e.kind)


def _steps(e: Evidence) -> list[StepView]:
    checks = {id(c.step): c for c in e.checks}
    views = []
    for number, step in enumerate(e.derivation.steps, start=1):
        check = checks.get(id(step))
        rule = RULES.get(step.rule)
        views.append(StepView(
            number, step.rule, rule.description.rstrip(".") if rule else "(no rule of this name)",
            step.why,
            step.expr, step.backwards, check is not None and check.ok,
            check.message if check is not None else "not checked",
            step.params.get("theorem") if step.rule == "known result" else None))
    return views


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_show, value)) + (",)" if len(value) == 1 else ")")
    return str(value)


def grid_table(points: list) -> Table:
    """The grid points as a table: one column per size (in order of first appearance), one
    for the note; the first GRID_ROWS points listed, the others counted."""
    labelled = [p.label or {str(s): v for s, v in p.values.items()} for p in points]
    columns = list(dict.fromkeys(name for label in labelled for name in label))
    notes = any(p.note for p in points)
    rows = [[_show(label[c]) if c in label else "" for c in columns] + ([p.note] if notes else [])
            for p, label in zip(points[:GRID_ROWS], labelled)]
    return Table(columns + (["note"] if notes else []), rows, max(0, len(points) - GRID_ROWS))


def _number(value: Any) -> sympy.Expr:
    """An exact witness value (an int or a Fraction) as a SymPy number."""
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    return sympy.sympify(value)


def _witness(entries: dict[str, dict]) -> list[Witness]:
    return [_signal_witness(name, values) for name, values in entries.items()]


def _signal_witness(name: str, values: dict[tuple, Any]) -> Witness:
    """A signal's entries (missing ones are zero) as a matrix over the (at most two) axes on
    which its indices vary, rows i and columns j, the other axes at their one value; more
    varying axes, or a long one, give a list of entries."""
    if not values:
        return Witness(name, f"{name} = 0", sympy.zeros(1, 1))
    indices = sorted(values)
    rank = len(indices[0])
    low = [min(index[a] for index in indices) for a in range(rank)]
    high = [max(index[a] for index in indices) for a in range(rank)]
    varying = [a for a in range(rank) if high[a] > low[a]]
    if (len(varying) > 2 or any(high[a] - low[a] >= WITNESS_SIZE for a in varying)
            or any(len(index) != rank for index in indices)):
        rows = [[_show(index), str(_number(values[index]))] for index in indices]
        return Witness(name, name, None, Table(["index", "value"], rows))
    names = dict(zip(varying, "ij" if len(varying) == 2 else "j"))
    row_axis = varying[0] if len(varying) == 2 else None
    column_axis = varying[-1] if varying else None
    extent = [1 if a is None else high[a] - low[a] + 1 for a in (row_axis, column_axis)]
    matrix = sympy.zeros(*extent)
    for index in indices:
        place = [0 if a is None else index[a] - low[a] for a in (row_axis, column_axis)]
        matrix[place[0], place[1]] = _number(values[index])
    position = ", ".join(names.get(a, str(low[a])) for a in range(rank))
    ranges = "".join(f", {names[a]} = {low[a]}…{high[a]}" for a in varying)
    return Witness(name, f"{name}[{position}]{ranges}" if rank else name, matrix)


def _differences(differences: dict) -> Table | None:
    """Where the two sides of a refuted claim differ: index, left side, right side."""
    if not differences:
        return None
    rows = [[_show(at[0] if len(at) == 1 else at) if at else "(no index)", str(_number(a)),
             str(_number(b))] for at, (a, b) in sorted(differences.items())]
    return Table(["index", "left side", "right side"], rows[:DIFFERENCE_ROWS],
                 max(0, len(rows) - DIFFERENCE_ROWS))


def _detail(value: Any) -> Table | str:
    """A detail of evidence: a list of rows (dicts) is a table, anything else its text."""
    if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
        columns = list(dict.fromkeys(name for row in value for name in row))
        return Table(columns, [[str(row.get(c, "")) for c in columns] for row in value])
    return str(value)


# --------------------------------------------------------------------------------------------
# The whole report
# --------------------------------------------------------------------------------------------

@dataclass
class Report:
    """The sections of the ids asked for and of what they use (catalog order), the figures,
    and how it went."""

    sections: list[Section]
    figures: list = field(default_factory=list)  # figures.DrawnFigure
    seconds: float = 0.0
    version: str = ""

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sections) and not any(f.error for f in self.figures)

    @property
    def complete(self) -> bool:
        """Whether every catalog id has its section."""
        return {s.id for s in self.sections} >= set(CATALOG)

    def groups(self) -> list[tuple[int, str, list[Section]]]:
        """The catalog's groups that this report has sections of: (number in the catalog,
        name, sections), in the catalog's order."""
        return [(number, group, [s for s in self.sections if s.group == group])
                for number, group in enumerate(SECTIONS, start=1)
                if any(s.group == group for s in self.sections)]

    def notes(self) -> list[tuple[Section, str]]:
        """Every correction of the lecture notes, with the section that makes it."""
        return [(s, note) for s in self.sections for note in s.notes]
