"""report.html: one offline file, math as presentation MathML, figures as files beside it.

Nothing is fetched: no script, no stylesheet or font from elsewhere, the figures by relative
path.  Layout: the summary table (every id, its levels, its time, ok / failed / missing), then
the catalog's groups of sections, the figures, and the corrections of the lecture notes, each
linked to the section that makes it.
"""

from __future__ import annotations

from html import escape

from .mathml import equation, mathml, tex_mathml
from .notation import MAX_TERMS, checked_indices, conditions
from .sections import LEVEL_WORDS, EvidenceView, Report, Section, StepView, Table, Witness

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 0 auto; padding: 1rem 2rem;
       color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #ccd; margin-top: 2.5rem; }
h3 { margin-top: 2rem; }
a { color: #1f4e9c; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccd; padding: 0.15rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eef; }
td.time { white-space: nowrap; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.88rem; }
pre { background: #f6f6fa; padding: 0.5rem 0.8rem; overflow-x: auto; }
math { font-size: 1.05rem; }
.math { overflow-x: auto; overflow-y: hidden; padding: 0.3rem 0; }
.good { color: #17652a; }
.bad { color: #b3161b; font-weight: 600; }
.badge { font-size: 0.8rem; border-radius: 0.6rem; padding: 0.05rem 0.5rem; margin-left: 0.4rem;
         vertical-align: middle; }
.badge.good { background: #e4f2e7; }
.badge.bad { background: #fdeeee; }
.banner { border: 2px solid #b3161b; background: #fdeeee; padding: 0.5rem 1rem; }
.banner.ok { border-color: #17652a; background: #eef8f0; }
.theorem { border-left: 4px solid #17652a; padding-left: 1rem; }
.theorem.bad-theorem { border-left-color: #b3161b; }
.level { display: inline-block; border-radius: 0.6rem; padding: 0 0.5rem; margin-right: 0.3rem;
         background: #e4f2e7; color: #17652a; }
.level.absent { background: #fdeeee; color: #b3161b; }
.evidence { margin: 1rem 0; padding: 0.3rem 0.8rem; background: #fafafd;
            border: 1px solid #e4e4ee; }
.evidence.bad-evidence { border-color: #b3161b; background: #fdf6f6; }
.evidence h4 { margin: 0.3rem 0; }
.steps { list-style: none; padding-left: 0; }
.step { border-top: 1px dotted #ccd; padding: 0.3rem 0; }
.step .rule { font-size: 0.88rem; color: #444; }
.step .rule b { color: #1d1d1f; }
.step.bad-step { background: #fdeeee; }
.backwards { color: #7a3e9d; font-style: italic; }
.witness { display: inline-block; margin-right: 2rem; vertical-align: top; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e4ee; }
figcaption { font-size: 0.9rem; }
"""


def _table(table: Table, css: str = "") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in table.rows)
    more = (f"<p>… and {table.omitted} more rows, not listed here.</p>" if table.omitted else "")
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>{more}'


def _math(math: str) -> str:
    return f'<div class="math">{math}</div>'


def _status(status: str) -> str:
    return f'<span class="badge {"good" if status == "ok" else "bad"}">{escape(status)}</span>'


def _levels(section: Section) -> str:
    reached = "".join(f'<span class="level">{escape(LEVEL_WORDS.get(level, level))}</span>'
                      for level in section.levels)
    absent = "".join(f'<span class="level absent">not reached: {escape(level)}</span>'
                     for level in section.required if level not in section.levels)
    required = ", ".join(section.required)
    return (f'<p>Level reached: {reached or "none"}{absent} <small>(the catalog asks for: '
            f'{escape(required)}; {section.seconds:.2f} s)</small></p>')


def _step(step: StepView) -> str:
    mark = "" if step.ok else f' <span class="bad">failed: {escape(step.message)}</span>'
    backwards = ('<br><span class="backwards">read right to left: the rule turns this line '
                 'into the previous one</span>' if step.backwards else "")
    uses = (f' (uses <a href="#{escape(step.uses)}">{escape(step.uses)}</a>)'
            if step.uses else "")
    return (f'<li class="step{"" if step.ok else " bad-step"}">'
            f'{_math(mathml(step.expr, True, MAX_TERMS, prefix="="))}'
            f'<div class="rule">{step.number}. <b>{escape(step.rule)}</b>{uses}: '
            f'{escape(step.description)}. <i>{escape(step.why)}</i>{backwards}{mark}</div></li>')


def _witness(witness: Witness) -> str:
    shown = (_math(mathml(witness.matrix, True)) if witness.matrix is not None
             else _table(witness.entries))
    return f'<div class="witness"><code>{escape(witness.label)}</code>{shown}</div>'


def _claim(view: EvidenceView) -> str:
    claim = view.claim
    if claim is None:
        return ""
    assuming = ""
    assumed = [escape(words) + mathml(h) for words, h in conditions(claim)]
    if assumed:
        assuming = "<p>assuming " + ", ".join(assumed) + "</p>"
    boxes = checked_indices(view.kind, claim)
    where = f"<p>for the indices in {mathml(boxes)}</p>" if boxes is not None else ""
    text = f"<p>{escape(claim.text)}</p>" if claim.text else ""
    shown = equation(claim.lhs, claim.rhs, display=True, max_terms=MAX_TERMS)
    return f"<p>{escape(view.claim_label)}:</p>{_math(shown)}{assuming}{where}{text}"


def _evidence(view: EvidenceView) -> str:
    parts = [f'<h4>{escape(view.kind)}: {escape(view.title)}</h4>',
             f'<p class="{"good" if view.ok else "bad"}">{escape(view.verdict)}: '
             f'{escape(view.message)} <small>({view.seconds:.2f} s)</small></p>',
             _claim(view)]
    if view.start is not None:
        parts.append("<p>The derivation, each step checked by its rule:</p>")
        start = _math(mathml(view.start, True, MAX_TERMS))
        parts.append(f'<ol class="steps"><li class="step">{start}</li>'
                     f'{"".join(_step(s) for s in view.steps)}</ol>')
    if view.grid is not None:
        parts.append(f"<p>Grid of certified instances:</p>{_table(view.grid, 'grid')}")
    if view.point is not None:
        parts.append(f"<p>Counterexample at {escape(view.point)}:</p>")
    if view.witness:
        parts.append('<div>' + "".join(_witness(w) for w in view.witness) + '</div>')
    if view.differences is not None:
        parts.append(f"<p>where the two sides differ:</p>{_table(view.differences)}")
    for name, detail in view.details:
        shown = _table(detail) if isinstance(detail, Table) else f"<p>{escape(detail)}</p>"
        parts.append(f"<p>{escape(name)}:</p>{shown}")
    return f'<div class="evidence{"" if view.ok else " bad-evidence"}">{"".join(parts)}</div>'


def _prose(section: Section) -> str:
    out, items = [], []
    for kind, text in section.prose + [("end", "")]:
        if kind != "item" and items:
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
            items = []
        if kind == "item":
            items.append(text)
        elif kind == "formula":
            out.append(f"<pre>{escape(text)}</pre>")
        elif kind == "text":
            out.append(f"<p>{escape(text)}</p>")
    return f'<div class="prose">{"".join(out)}</div>'


def render_section(section: Section) -> str:
    """One theorem: statement, level, prose, evidence, notes and dependencies."""
    anchor = escape(section.id)
    parts = [f'<h3><a href="#{anchor}">{anchor}</a>: {escape(section.title)} '
             f'{_status(section.status)}</h3>']
    if not section.loaded:
        parts.append(f'<p class="bad">No proof of this catalog id could be loaded: '
                     f'{escape(section.message)}</p>')
    else:
        parts.append(_math(tex_mathml(section.statement, True)))
        parts.append(_levels(section))
        if not section.ok:
            parts.append(f'<p class="bad">Falls short: {escape(section.message)}</p>')
        parts.append(_prose(section))
    parts += [_evidence(view) for view in section.evidence]
    if section.notes:
        parts.append("<p>Where the notes are wrong or loose:</p><ul>"
                     + "".join(f"<li>{escape(n)}</li>" for n in section.notes) + "</ul>")
    if section.depends:
        links = ", ".join(f'<a href="#{escape(d)}">{escape(d)}</a>' for d in section.depends)
        parts.append(f"<p>Uses: {links}</p>")
    css = "theorem" if section.ok else "theorem bad-theorem"
    return f'<section class="{css}" id="{anchor}">{"".join(parts)}</section>'


def _summary(report: Report) -> str:
    rows = []
    for s in report.sections:
        reached = ", ".join(LEVEL_WORDS.get(level, level) for level in s.levels) or "none"
        rows.append(f'<tr><td><a href="#{escape(s.id)}">{escape(s.id)}</a></td>'
                    f'<td>{escape(s.title)}</td><td>{escape(", ".join(s.required))}</td>'
                    f'<td>{escape(reached)}</td><td class="time">{s.seconds:.2f} s</td>'
                    f'<td>{_status(s.status)}</td></tr>')
    head = "".join(f"<th>{c}</th>" for c in ("id", "theorem", "catalog level", "levels reached",
                                              "time", "status"))
    return f'<table class="summary"><tr>{head}</tr>{"".join(rows)}</table>'


def _banner(report: Report) -> str:
    short = [s for s in report.sections if not s.ok]
    broken = [f for f in report.figures if f.error]
    text = (f"{len(report.sections) - len(short)} of {len(report.sections)} theorems reach "
            f"their catalog level; proved and drawn in {report.seconds:.1f} s.")
    if short:
        links = ", ".join(f'<a href="#{escape(s.id)}">{escape(s.id)}</a>' for s in short)
        text += f" Falling short: {links}."
    if broken:
        text += " Figures that failed: " + ", ".join(escape(f.name) for f in broken) + "."
    if not report.complete:
        text += " This report covers only the ids asked for, not the whole catalog."
    return f'<p class="banner{" ok" if report.ok else ""}">{text}</p>'


def _figures(report: Report) -> str:
    parts = []
    for number, drawn in enumerate(report.figures, start=1):
        links = ", ".join(f'<a href="#{escape(t)}">{escape(t)}</a>' for t in drawn.theorems)
        caption = (f"<figcaption><b>Figure {number}. {escape(drawn.title)}.</b> "
                   f"{escape(drawn.caption)} See {links}.</figcaption>")
        body = (f'<img src="{escape(drawn.file)}" alt="{escape(drawn.title)}">' if drawn.file
                else f'<p class="bad">This figure failed: {escape(drawn.error)}</p>')
        parts.append(f'<figure id="figure-{escape(drawn.name)}">{body}{caption}</figure>')
    return "".join(parts)


def _notes(report: Report) -> str:
    items = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.id)}</a>: {escape(note)}</li>'
                    for s, note in report.notes())
    return f"<ul>{items}</ul>" if items else "<p>No corrections in the sections shown.</p>"


LEGEND = ("<p>Levels: <b>proved for all sizes</b> means a derivation for symbolic sizes whose "
          "every step the engine checked by its named rule, <b>proved at the sizes "
          "stated</b> the same for an instance whose every size the claim fixes; "
          "<b>certified on a grid</b> means the claim evaluated exactly, with symbolic entries, "
          "at every point of the grid shown, for "
          "the indices in the boxes shown; <b>refuted with a witness</b> means a false "
          "statement and the concrete inputs on which its two sides differ. A step marked "
          "<i>read right to left</i> is checked by applying its rule to the line it produces. "
          "Anything that failed is in red.</p>")


def render_report(report: Report) -> str:
    """The whole page."""
    groups = "".join(
        f'<section class="group" id="group-{number}"><h2>{number}. {escape(group)}</h2>'
        + "".join(render_section(s) for s in sections) + "</section>"
        for number, group, sections in report.groups())
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>convproof: the derivation report</title><style>{STYLE}</style></head><body>"
        f"<header><h1>convproof: the derivation report</h1>"
        f"<p>convproof {escape(report.version)}: every theorem of the catalog, its statement, "
        f"the level it reached and the checked evidence.</p>{_banner(report)}{LEGEND}</header>"
        f'<nav id="summary"><h2>Summary</h2>{_summary(report)}</nav>'
        f"<main>{groups}"
        f'<section id="figures"><h2>Figures</h2>{_figures(report)}</section>'
        f'<section id="notes"><h2>Where the notes are wrong or loose</h2>{_notes(report)}'
        f"</section></main></body></html>\n")
