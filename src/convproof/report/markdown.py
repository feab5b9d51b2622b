"""report.md: the same report for reading on a code host, math as LaTeX in $...$ / $$...$$.

Same order as the HTML page: summary table, the catalog's groups of sections, figures (linked
by relative path), the corrections of the notes.  Each section carries an explicit anchor named
by its id, so links such as [banded-matrix](#banded-matrix) work.
"""

from __future__ import annotations

import re

from .latex import equation_latex, latex
from .notation import MAX_TERMS, checked_indices, conditions
from .sections import LEVEL_WORDS, EvidenceView, Report, Section, StepView, Table, Witness

_SPECIAL = re.compile(r"([\\`*_\[\]<>|$#&])")


def text(value: str) -> str:
    """Plain text with Markdown's special characters escaped (& too: &lt; is an entity)."""
    return _SPECIAL.sub(r"\\\1", value)


def _longest_backticks(value: str) -> int:
    return max(map(len, re.findall("`+", value)), default=0)


def code(value: str) -> str:
    """An inline code span: fenced by one more backtick than the longest run inside."""
    fence = "`" * (_longest_backticks(value) + 1)
    padded = f" {value} " if value.startswith("`") or value.endswith("`") else value
    return f"{fence}{padded}{fence}"


def fenced(value: str, info: str = "text") -> str:
    """A fenced block: longer fences than any run of backticks inside."""
    fence = "`" * max(3, _longest_backticks(value) + 1)
    return f"{fence}{info}\n{value}\n{fence}"


def display(tex: str) -> str:
    return f"$$\n{tex}\n$$"


def link(theorem_id: str) -> str:
    return f"[{text(theorem_id)}](#{theorem_id})"


def table(shown: Table) -> str:
    lines = ["| " + " | ".join(text(c) for c in shown.columns) + " |",
             "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(text(cell) for cell in row) + " |" for row in shown.rows]
    if shown.omitted:
        lines.append(f"\n… and {shown.omitted} more rows, not listed here.")
    return "\n".join(lines)


def _levels(section: Section) -> str:
    reached = ", ".join(f"**{LEVEL_WORDS.get(level, level)}**" for level in section.levels)
    absent = [level for level in section.required if level not in section.levels]
    missing = f"; **not reached: {', '.join(absent)}**" if absent else ""
    return (f"Level reached: {reached or 'none'}{missing} (the catalog asks for: "
            f"{', '.join(section.required)}; {section.seconds:.2f} s)")


def _step(step: StepView) -> str:
    uses = f" (uses {link(step.uses)})" if step.uses else ""
    backwards = " — *read right to left: the rule turns this line into the previous one*" \
        if step.backwards else ""
    failed = f" — **failed: {text(step.message)}**" if not step.ok else ""
    why = f" *{text(step.why)}*" if step.why else ""
    return (f"{step.number}\\. **{text(step.rule)}**{uses}: {text(step.description)}."
            f"{why}{backwards}{failed}\n\n"
            + display("= " + latex(step.expr, MAX_TERMS)))


def _witness(witness: Witness) -> str:
    if witness.matrix is None:
        return f"{code(witness.label)}:\n\n{table(witness.entries)}"
    return f"{code(witness.label)} = ${latex(witness.matrix)}$"


def _evidence(view: EvidenceView) -> str:
    parts = [f"#### {text(view.kind)}: {text(view.title)}",
             f"{'' if view.ok else '**'}{text(view.verdict)}: {text(view.message)}"
             f"{'' if view.ok else '**'} ({view.seconds:.2f} s)"]
    if view.claim is not None:
        claim = view.claim
        parts.append(text(view.claim_label) + ":")
        parts.append(display(equation_latex(claim.lhs, claim.rhs, max_terms=MAX_TERMS)))
        assumed = [f"{text(words)}${latex(h)}$" for words, h in conditions(claim)]
        if assumed:
            parts.append("assuming " + ", ".join(assumed))
        boxes = checked_indices(view.kind, claim)
        if boxes is not None:
            parts.append(f"for the indices in ${latex(boxes)}$")
        if claim.text:
            parts.append(text(claim.text))
    if view.start is not None:
        parts.append("The derivation, each step checked by its rule:")
        parts.append(display(latex(view.start, MAX_TERMS)))
        parts += [_step(step) for step in view.steps]
    if view.grid is not None:
        parts += ["Grid of certified instances:", table(view.grid)]
    if view.point is not None:
        parts.append(f"Counterexample at {text(view.point)}:")
    parts += [_witness(w) for w in view.witness]
    if view.differences is not None:
        parts += ["where the two sides differ:", table(view.differences)]
    for name, detail in view.details:
        parts += [f"{text(name)}:", table(detail) if isinstance(detail, Table) else text(detail)]
    return "\n\n".join(parts)


def _prose(section: Section) -> list[str]:
    shown = []
    for kind, paragraph in section.prose:
        if kind == "formula":
            shown.append(fenced(paragraph))
        else:
            shown.append(("- " if kind == "item" else "") + text(paragraph))
    return shown


def render_section(section: Section) -> str:
    """One theorem: statement, level, prose, evidence, notes and dependencies."""
    status = section.status if section.ok else f"**{section.status.upper()}**"
    parts = [f'<a id="{section.id}"></a>\n\n### {text(section.id)}: {text(section.title)} '
             f"({status})"]
    if not section.loaded:
        parts.append(f"**No proof of this catalog id could be loaded: {text(section.message)}**")
    else:
        parts.append(display(section.statement))
        parts.append(_levels(section))
        if not section.ok:
            parts.append(f"**Falls short: {text(section.message)}**")
        parts += _prose(section)
    parts += [_evidence(view) for view in section.evidence]
    if section.notes:
        parts.append("Where the notes are wrong or loose:\n\n"
                     + "\n".join(f"- {text(note)}" for note in section.notes))
    if section.depends:
        parts.append("Uses: " + ", ".join(link(d) for d in section.depends))
    return "\n\n".join(parts)


def _summary(report: Report) -> str:
    rows = [["id", "theorem", "catalog level", "levels reached", "time", "status"]]
    for s in report.sections:
        reached = ", ".join(LEVEL_WORDS.get(level, level) for level in s.levels) or "none"
        rows.append([link(s.id), text(s.title), ", ".join(s.required), reached,
                     f"{s.seconds:.2f} s", s.status if s.ok else f"**{s.status}**"])
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def _figures(report: Report) -> list[str]:
    shown = []
    for number, drawn in enumerate(report.figures, start=1):
        caption = (f"**Figure {number}. {text(drawn.title)}.** {text(drawn.caption)} See "
                   + ", ".join(link(t) for t in drawn.theorems) + ".")
        body = (f"![{text(drawn.title)}]({drawn.file})" if drawn.file
                else f"**This figure failed: {text(drawn.error)}**")
        shown += [f'<a id="figure-{drawn.name}"></a>\n\n{body}', caption]
    return shown


def render_report(report: Report) -> str:
    """The whole document."""
    short = [s for s in report.sections if not s.ok]
    banner = (f"{len(report.sections) - len(short)} of {len(report.sections)} theorems reach "
              f"their catalog level; proved and drawn in {report.seconds:.1f} s.")
    if short:
        banner = f"**{banner} Falling short: {', '.join(link(s.id) for s in short)}.**"
    broken = [f.name for f in report.figures if f.error]
    if broken:
        banner += f" **Figures that failed: {', '.join(broken)}.**"
    if not report.complete:
        banner += " This report covers only the ids asked for, not the whole catalog."
    parts = ["# convproof: the derivation report",
             f"convproof {report.version}: every theorem of the catalog, its statement, the level "
             "it reached and the checked evidence. With `--format html` (or both) the same report, "
             "math as MathML, is report.html.",
             banner,
             "Levels: **proved for all sizes** means a derivation for symbolic sizes whose every "
             "step the engine checked by its named rule, **proved at the sizes stated** "
             "the same for an instance whose every size the claim fixes; "
             "**certified on a grid** means the claim "
             "evaluated exactly, with symbolic entries, at every point of the grid shown, for "
             "the indices in the boxes shown; "
             "**refuted with a witness** means a false statement and the concrete inputs on "
             "which its two sides differ.",
             "## Summary", _summary(report)]
    for number, group, sections in report.groups():
        parts.append(f"## {number}. {text(group)}")
        parts += [render_section(s) for s in sections]
    parts.append("## Figures")
    parts += _figures(report)
    parts.append("## Where the notes are wrong or loose")
    parts += [f"- {link(s.id)}: {text(note)}" for s, note in report.notes()] or \
        ["No corrections in the sections shown."]
    return "\n\n".join(parts) + "\n"
