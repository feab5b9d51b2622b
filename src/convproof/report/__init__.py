"""The derivation report: ``convproof report [--out DIR] [--format html|md|both] [ID ...]``.

Proves the catalog (or the ids given, with what they depend on), then writes report.html (one
offline file, math as MathML), report.md (LaTeX math, for a code host) and the figures beside
them, in ``docs/report/`` unless told otherwise.  Progress goes to standard error.  The exit
status is 1 when a theorem falls short of its catalog level or a figure fails; the report is
written all the same, with the failure shown.

    from convproof.report import write_report
    report = write_report("out", ids=["banded-matrix"], formats=("html",))
    report.ok, [s.status for s in report.sections]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..catalog import CATALOG
from ..cli import writable_folder
from ..progress import to_stderr
from ..spec import check_flag
from . import html, markdown
from .sections import Report, Section, build_section, unloaded_section

DEFAULT_FOLDER = Path("docs") / "report"
FORMATS = {"html": ("html",), "md": ("md",), "both": ("html", "md")}
WRITERS = {"html": ("report.html", html.render_report), "md": ("report.md", markdown.render_report)}


def _silent(line: str) -> None:
    """A progress callback that prints nothing."""


def sections_for(ids: Sequence[str], progress: Callable[[str], None] = to_stderr
                 ) -> list[Section]:
    """Prove ``ids`` with what they depend on and build their sections, in catalog order (a
    section links to the ones it uses); an id whose proof file does not load gets a section
    that says so."""
    from ..cli import prove_all
    from ..symbolic.proof import THEOREMS, ProofError, dependency_order

    unknown = [tid for tid in ids if tid not in CATALOG]
    if unknown:
        raise ValueError(f"ids: unknown theorem id(s) {', '.join(map(repr, unknown))}; "
                         f"the catalog has {', '.join(CATALOG)}")
    try:
        closure = set(dependency_order(ids))
    except ProofError as exc:
        raise ValueError(str(exc)) from None
    results = prove_all([tid for tid in CATALOG if tid in closure], progress)
    return [build_section(THEOREMS[r.id], r) if r.id in THEOREMS else unloaded_section(r.id, r)
            for r in results]


def write_report(folder: str | Path = DEFAULT_FOLDER, ids: Sequence[str] | None = None,
                 formats: Sequence[str] = ("html", "md"), figures: bool = True,
                 progress: Callable[[str], None] | None = to_stderr) -> Report:
    """Prove, draw and write the report into ``folder``; returns what was written.  ``ids``
    None proves the whole catalog; ``progress`` None prints nothing."""
    from .. import __version__

    for name, value, example in (("ids", ids, "banded-matrix"), ("formats", formats, "html")):
        if isinstance(value, str) or (value is not None and not isinstance(value, (list, tuple))):
            raise TypeError(f"{name} must be a list, such as [{example!r}], got {value!r}")
    if ids is not None and not ids:
        raise ValueError("ids is empty: give theorem ids, or None for the whole catalog")
    if ids is not None and not all(isinstance(tid, str) for tid in ids):
        raise TypeError(f"ids must hold theorem ids (str), got {ids!r}")
    bad = [f for f in formats if f not in ("html", "md")]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty choice of 'html' and 'md', got {formats!r}")
    figures = check_flag("figures", figures)
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path (str or os.PathLike), got {folder!r}")
    if not str(folder):
        raise ValueError("folder is empty: give a folder to write the report into")
    try:  # before the proofs, not after them
        writable_folder(str(folder))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"folder {exc}") from None
    if progress is None:
        progress = _silent
    elif not callable(progress):
        raise TypeError(f"progress must be a callable taking a line, or None, got {progress!r}")
    started = time.perf_counter()
    folder = Path(folder)
    sections = sections_for(list(ids) if ids is not None else list(CATALOG), progress)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    if figures:
        from .figures import draw_all
        progress("drawing the figures")
        drawn = draw_all(folder, {section.id for section in sections})
        for failed in (f for f in drawn if f.error):
            progress(f"figure {failed.name} FAILED: {failed.error}")
    report = Report(sections, drawn, time.perf_counter() - started, __version__)
    _write_all({folder / WRITERS[kind][0]: WRITERS[kind][1](report) for kind in formats})
    for kind in formats:
        progress(f"wrote {folder / WRITERS[kind][0]}")
    return report


def _write_all(texts: dict[Path, str]) -> None:
    """Each file written beside its place first, and put in place once all are written: a
    report.html that says "42 of 42" is not left behind when report.md cannot be written."""
    partial = {path: path.with_name(f".{path.name}.partial") for path in texts}
    try:
        for path, text in texts.items():
            partial[path].write_text(text, encoding="utf-8")
        for path, written in partial.items():
            os.replace(written, path)
    finally:
        for written in partial.values():
            written.unlink(missing_ok=True)


def build_parser() -> argparse.ArgumentParser:
    from ..cli import theorem_id

    parser = argparse.ArgumentParser(
        prog="convproof report",
        description="Prove the theorem catalog and write the derivation report.")
    parser.add_argument("ids", nargs="*", metavar="ID", type=theorem_id,
                        help="catalog ids, with what they depend on (default: all)")
    parser.add_argument("--out", type=writable_folder, default=str(DEFAULT_FOLDER),
                        help=f"folder for the report and its figures (default: {DEFAULT_FOLDER})")
    parser.add_argument("--format", choices=sorted(FORMATS), default="both",
                        help="html, md or both (default: both)")
    return parser


def main(argv: list[str]) -> int:
    """The ``convproof report`` command: 0 when every theorem reaches its catalog level, 1
    when one falls short, 2 for bad arguments or a report that cannot be written."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from .figures import FIGURES

    targets = [WRITERS[kind][0] for kind in FORMATS[args.format]]
    targets += [f"figure-{spec.name}.svg" for spec in FIGURES]
    folders = [Path(args.out) / name for name in targets if (Path(args.out) / name).is_dir()]
    if folders:
        parser.error(f"--out: {str(folders[0])!r} is a folder, where the report writes a file")
    try:
        report = write_report(args.out, args.ids or None, FORMATS[args.format])
    except ValueError as exc:  # a dependency cycle among the proof files
        raise SystemExit(f"convproof report: {exc}") from None
    except OSError as exc:
        to_stderr(f"convproof report: cannot write the report: {exc}")
        return 2
    for section in report.sections:  # what falls short on standard output, as prove says it
        if not section.ok:
            print(f"{section.id}: {section.message}")
    for figure in report.figures:
        if figure.error:
            print(f"figure {figure.name}: {figure.error}")
    short = [s.id for s in report.sections if not s.ok]
    to_stderr(f"{len(report.sections) - len(short)} of {len(report.sections)} theorems at their "
              f"catalog level" + (f"; falling short: {', '.join(short)}" if short else "")
              + f"; {report.seconds:.1f}s")
    return 0 if report.ok else 1


__all__ = ["main", "write_report", "sections_for", "build_section", "Report", "Section"]
