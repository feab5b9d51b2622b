"""The derivation report as a reader gets it: the whole catalog written once into a temporary
folder, then read back like a person would, parsing the HTML (every id, well-formed MathML,
figures on disk and referenced, nothing remote), the Markdown, and, where Chromium is
installed, rendering the page headless with no network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from convproof.catalog import CATALOG
from convproof.report import main, write_report
from convproof.report.figures import (FIGURES, measured_receptive_field, receptive_field_formula,
                                      shifted, tap_pattern)
from convproof.report.mathml import tex_mathml
from convproof.symbolic import Evidence, load
from convproof.symbolic.proof import Result

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium")
                                         else None)


class Page(HTMLParser):
    """Every tag with its attributes, the ids of the theorem sections, the <math> blocks."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)
        self.maths = re.findall(r"<math\b.*?</math>", text, flags=re.S)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def sections(self, css: str) -> list[str]:
        return [attrs["id"] for tag, attrs in self.tags
                if tag == "section" and css in attrs.get("class", "").split()]


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The whole catalog, proved once and written with its figures."""
    folder = tmp_path_factory.mktemp("report")
    report = write_report(folder, progress=lambda line: None)
    html = (folder / "report.html").read_text(encoding="utf-8")
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    return folder, report, html, markdown


def test_every_catalog_id_has_its_section_in_catalog_order(full):
    _, report, html, _ = full
    page = Page(html)
    assert page.sections("theorem") == list(CATALOG)
    assert [s.id for s in report.sections] == list(CATALOG)
    summary = re.search(r'<nav id="summary">(.*?)</nav>', html, flags=re.S).group(1)
    assert re.findall(r'<td><a href="#([^"]+)">', summary) == list(CATALOG)
    for section in report.sections:
        block = re.search(rf'<section class="[^"]*" id="{section.id}">(.*?)</section>',
                          html, flags=re.S).group(1)
        badge = re.search(r'<span class="badge (good|bad)">(\w+)</span>', block).group(2)
        assert badge == section.status
        if not section.ok:
            assert "Falls short" in block or "could be loaded" in block


def test_groups_follow_the_catalog(full):
    _, report, html, _ = full
    headings = re.findall(r'<h2>\d+\. ([^<]+)</h2>', html)
    assert headings == list(dict.fromkeys(entry.section for entry in CATALOG.values()))


def test_every_formula_is_well_formed_mathml(full):
    _, _, html, _ = full
    page = Page(html)
    assert len(page.maths) > 3 * len(CATALOG)
    for math in page.maths:
        root = ET.fromstring(math)
        assert root.tag == "math"
    assert html.count("<math") == len(page.maths)


def test_the_page_references_nothing_remote(full):
    _, _, html, _ = full
    page = Page(html)
    banned = {"script", "link", "iframe", "object", "embed", "base"}
    assert not [tag for tag, _ in page.tags if tag in banned]
    for tag, attrs in page.tags:
        for name in ("src", "href", "srcset", "poster", "data"):
            value = attrs.get(name) or ""
            assert not re.match(r"(?i)(https?:)?//", value), (tag, name, value)
    style = re.search(r"<style>(.*?)</style>", html, flags=re.S).group(1)
    assert "url(" not in style and "@import" not in style and "@font-face" not in style


def test_every_figure_is_drawn_on_disk_and_referenced(full):
    folder, report, html, markdown = full
    assert len(report.figures) == len(FIGURES) >= 6
    assert not [f.error for f in report.figures if f.error]
    sources = [attrs["src"] for tag, attrs in Page(html).tags if tag == "img"]
    drawn = sorted(p.name for p in folder.glob("figure-*.svg"))
    assert sorted(sources) == drawn and len(drawn) == len(FIGURES)
    for name in drawn:
        assert ET.parse(folder / name).getroot().tag.endswith("svg")
        assert f"]({name})" in markdown


def test_the_notes_section_links_every_correction_to_its_theorem(full):
    _, report, html, _ = full
    notes = html.split('<section id="notes">', 1)[1]
    corrections = report.notes()
    assert corrections  # the proofs correct the notes in several places
    for section, note in corrections:
        assert f'<li><a href="#{section.id}">{section.id}</a>: {escape(note)}</li>' in notes
    assert notes.count("<li>") == len(corrections)


def test_the_markdown_has_every_id_with_its_anchor_and_balanced_math(full):
    _, report, _, markdown = full
    for theorem_id in CATALOG:
        assert f'<a id="{theorem_id}"></a>' in markdown
        assert f"### {theorem_id}: " in markdown
        assert f"[{theorem_id}](#{theorem_id})" in markdown
    lines = markdown.splitlines()
    assert lines.count("$$") % 2 == 0
    assert "<math" not in markdown


def test_levels_are_said_only_of_evidence_that_checked(full):
    _, report, html, _ = full
    for section in report.sections:
        for view in section.evidence:
            if not view.ok:
                assert view.verdict == "failed"
        reached = set(section.levels)
        if "universal" not in reached:
            block = re.search(rf'id="{section.id}">(.*?)</section>', html, flags=re.S).group(1)
            assert "proved for all sizes</span>" not in block


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_headless_chromium_renders_the_page_without_console_errors(full, tmp_path):
    folder, _, _, _ = full
    shot = tmp_path / "page.png"
    run = chromium(folder / "report.html", shot, tmp_path / "profile", "1280,2400")
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    assert_not_blank(shot)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_headless_chromium_draws_a_formula(tmp_path):
    """A page holding one statement: the MathML is drawn (ink where the formula is)."""
    page = tmp_path / "formula.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body '
                    'style="margin:0;font-size:40px">'
                    + tex_mathml(load("flip-equivalence").statement, display=True)
                    + "</body></html>", encoding="utf-8")
    shot = tmp_path / "formula.png"
    chromium(page, shot, tmp_path / "profile", "900,200")
    image = assert_not_blank(shot)
    ink = image[..., :3].mean(axis=2) < 0.5
    assert ink.sum() > 500 and ink.any(axis=0).sum() > 200  # a formula wide on the page


def chromium(page: Path, shot: Path, profile: Path, size: str) -> subprocess.CompletedProcess:
    """Chromium headless, offline (every host name unresolvable), a fresh profile."""
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--host-resolver-rules=MAP * ~NOTFOUND", f"--screenshot={shot}",
               f"--window-size={size}", "--enable-logging=stderr", "--v=0", page.as_uri()]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert shot.exists(), run.stderr[-2000:]
    return run


def assert_not_blank(shot: Path) -> np.ndarray:
    from matplotlib.image import imread

    image = imread(shot)
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert image[..., :3].std() > 0.02 and len(colours) > 16
    return image


def test_main_writes_the_format_asked_for_and_fails_when_a_theorem_falls_short(
        tmp_path, monkeypatch, capsys):
    theorem = load("grad-bias")
    broken = Result("grad-bias", CATALOG["grad-bias"].levels,
                    [Evidence("universal", "a proof that broke", False, "step 1 differs")], 0.1)
    monkeypatch.setattr(theorem, "_result", broken)
    assert main(["--out", str(tmp_path), "--format", "md", "grad-bias"]) == 1
    assert not (tmp_path / "report.html").exists()
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "**FAILED**" in text and "step 1 differs" in text
    shown = capsys.readouterr()
    assert "falling short: grad-bias" in shown.err
    assert shown.out.startswith("grad-bias: ") and "step 1 differs" in shown.out  # as prove
    from convproof.report import figures
    failed = figures.DrawnFigure("sizes", "t", "c", ("grad-bias",), None, "ValueError: boom")
    monkeypatch.setattr(figures, "draw_all", lambda folder, shown: [failed])
    monkeypatch.setattr(theorem, "_result", None)
    assert main(["--out", str(tmp_path), "--format", "md", "grad-bias"]) == 1
    assert capsys.readouterr().out == "figure sizes: ValueError: boom\n"


def test_main_refuses_a_folder_where_a_file_goes_and_reports_a_failed_write(
        tmp_path, monkeypatch, capsys):
    (tmp_path / "report.md").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path), "--format", "md", "grad-bias"])
    assert exit_.value.code == 2
    assert "report.md' is a folder, where the report writes a file" in capsys.readouterr().err

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("convproof.report.write_report", disk_full)
    assert main(["--out", str(tmp_path / "elsewhere"), "grad-bias"]) == 2
    assert "cannot write the report: [Errno 28] No space left" in capsys.readouterr().err


def test_a_partial_report_holds_what_its_theorems_use(tmp_path):
    """stride-is-subsampling uses grad-input-flip: both sections, and only their figure."""
    report = write_report(tmp_path, ["stride-is-subsampling"], formats=("html",))
    assert [s.id for s in report.sections] == ["grad-input-flip", "stride-is-subsampling"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="([^"]+)"', page))
    assert set(re.findall(r'href="#([^"]+)"', page)) <= anchors
    assert all(set(f.theorems) <= {s.id for s in report.sections} for f in report.figures)


def test_main_refuses_an_unknown_id_and_format(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(tmp_path), "no-such-theorem"])
    assert exit_.value.code == 2
    assert "unknown theorem id 'no-such-theorem'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["--format", "pdf"])
    assert exit_.value.code == 2
    with pytest.raises(ValueError, match="ids: unknown theorem id.*'no-such-theorem'"):
        write_report(tmp_path, ["no-such-theorem"])
    with pytest.raises(ValueError, match="formats must be .* got \\('pdf',\\)"):
        write_report(tmp_path, ["grad-bias"], formats=("pdf",))
    for options, error, message in [
            (dict(ids="grad-bias"), TypeError, "ids must be a list, such as \\['banded-matrix'\\], "
                                               "got 'grad-bias'"),
            (dict(ids=0), TypeError, "ids must be a list"),
            (dict(ids=[]), ValueError, "ids is empty"),
            (dict(ids=["grad-bias"], formats="html"), TypeError, "formats must be a list"),
            (dict(ids=["grad-bias"], figures="no"), TypeError,
             "figures must be True or False, got 'no'"),
            (dict(ids=["grad-bias"], progress="stderr"), TypeError, "progress must be a callable")]:
        with pytest.raises(error, match=message):
            write_report(tmp_path, **options)
    with pytest.raises(ValueError, match="folder is empty"):
        write_report("", ["grad-bias"])
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    for folder, error, message in [
            (blocked, ValueError, f"folder '{blocked}' is not a folder"),
            (blocked / "sub", ValueError, f"folder '{blocked / 'sub'}' cannot be made"),
            (3, TypeError, "folder must be a path \\(str or os.PathLike\\), got 3")]:
        with pytest.raises(error, match=message):  # at once: nothing is proved first
            write_report(folder, ["winograd-transform"])
    with pytest.raises(TypeError, match="ids must hold theorem ids \\(str\\)"):
        write_report(tmp_path, [["grad-bias"]])
    capsys.readouterr()
    quiet = write_report(tmp_path / "quiet", ["grad-bias"], figures=False, progress=None)
    assert [section.id for section in quiet.sections] == ["grad-bias"]
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------
# The numbers behind the figures, against independent oracles
# --------------------------------------------------------------------------------------------

def test_receptive_field_measured_by_backpropagation_matches_the_formula(rng):
    for _ in range(6):
        depth = int(rng.integers(1, 4))
        kernels = [int(v) for v in rng.integers(1, 5, depth)]
        strides = [int(v) for v in rng.integers(1, 3, depth)]
        dilations = [int(v) for v in rng.integers(1, 3, depth)]
        expected = 1 + sum(d * (k - 1) * int(np.prod(strides[:layer]))
                           for layer, (k, d) in enumerate(zip(kernels, dilations)))
        assert receptive_field_formula(kernels, strides, dilations) == expected
        assert measured_receptive_field(kernels, strides, dilations) == expected


def test_the_shift_of_the_equivariance_figure_moves_pixels_and_drops_the_rest(rng):
    image = rng.standard_normal((6, 7))
    moved = shifted(image, (2, -3))
    np.testing.assert_array_equal(moved[2:, :4], image[:4, 3:])
    assert not moved[:2].any() and not moved[:, 4:].any()


def test_the_sparsity_pattern_colours_each_entry_by_its_tap(torch):
    """The coloured pattern of a 1-D conv matrix against PyTorch: impulse responses give the
    columns each output reads, and the tap of an entry is where in the kernel it sits."""
    import convproof as cp
    from convproof.symbolic import conv_matrix

    spec = cp.ConvSpec(1, 1, (3,), stride=2, dilation=2, padding=1)
    matrix, weights = conv_matrix(spec, (1, 9))
    pattern = tap_pattern(matrix, weights)
    for tap in range(3):
        kernel = torch.zeros(1, 1, 3, dtype=torch.float64)
        kernel[0, 0, tap] = 1.0
        columns = torch.nn.functional.conv1d(torch.eye(9, dtype=torch.float64)[:, None], kernel,
                                             stride=2, dilation=2, padding=1)[:, 0].T.numpy()
        np.testing.assert_array_equal(np.nan_to_num(pattern, nan=-1) == tap, columns == 1)


def test_the_user_guide_is_in_step_with_the_code():
    from convproof.report import DEFAULT_FOLDER, FORMATS, build_parser
    from convproof.report.sections import LEVEL_WORDS

    docs = Path(__file__).resolve().parents[1] / "docs"
    guide = (docs / "index.md").read_text(encoding="utf-8")
    options = [o for action in build_parser()._actions for o in action.option_strings
               if o.startswith("--") and o != "--help"]
    assert options and all(o in guide for o in options)
    assert f"[--format {'|'.join(f for f in FORMATS if f != 'both')}|both]" in guide
    assert f"`{DEFAULT_FOLDER.as_posix()}/`" in guide
    assert all(words in guide for level, words in LEVEL_WORDS.items() if level != "numeric")
    for target in re.findall(r"\]\(([\w-]+\.md)\)", guide):
        assert (docs / target).exists(), target


def test_the_bounds_and_thresholds_in_the_user_guide_are_the_code_s():
    from convproof.cpu import depthwise, pointwise, unfold, workspace

    guide = (Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text("utf-8")
    text = " ".join(guide.split())
    mib = 2**20
    for phrase in (f"unfold.UNFOLD_BUFFER_BYTES` = {unfold.UNFOLD_BUFFER_BYTES // mib} MiB a call",
                   f"blocks of {unfold.CACHED_BLOCK_BYTES // mib} MiB a thread or more",
                   f"depthwise calls work in {depthwise.BLOCK_BYTES // mib} MiB blocks",
                   f"workspace.LIMIT_BYTES` = {workspace.LIMIT_BYTES // mib} MiB per thread",
                   f"unfold.SMALL_IMAGE` = {unfold.SMALL_IMAGE} positions",
                   f"`GATHER_WEIGHT_BYTES` = {unfold.GATHER_WEIGHT_BYTES // mib} MiB a group",
                   f"one GEMM per block of about {pointwise.GATHERED_COLUMNS} columns"):
        assert phrase in text


def test_without_matplotlib_every_figure_is_reported_failed(tmp_path, monkeypatch):
    from convproof.report.figures import draw_all
    from convproof.report.html import render_report
    from convproof.report.sections import Report

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    drawn = draw_all(tmp_path)
    assert len(drawn) == len(FIGURES) and all(f.file is None for f in drawn)
    assert all("pip install 'convproof[report]'" in f.error for f in drawn)
    assert not list(tmp_path.iterdir())
    report = Report([], drawn)
    assert not report.ok
    assert render_report(report).count("This figure failed") == len(FIGURES)


def test_no_claim_prints_as_the_same_expression_twice_unexplained(full):
    """Distinct objects print distinctly (corr(x, w) names its kernel, τ_t (y + β) keeps its
    parentheses); where the two sides are one expression the label says so."""
    _, _, _, markdown = full
    claims = re.findall(r"(The claim[^\n]*):\n\n\$\$\n(.*?)\n\$\$", markdown, flags=re.S)
    assert len(claims) > 100
    for label, body in claims:
        sides = body.split(" = ")
        if len(sides) == 2 and sides[0].strip() == sides[1].strip():
            assert "one expression once the sizes and definitions are written out" in label, body
    assert r"\operatorname{corr}(x, w)" in markdown
    assert r"\tau_{t} \left(y + \beta\right)" in markdown
    assert r"\operatorname{softmax}(z - c)" in markdown
    for leak in ("Fraction(", ":func:", "``ONE_DIM``"):
        assert leak not in markdown


def test_a_report_that_cannot_be_written_whole_leaves_no_part_behind(tmp_path, monkeypatch):
    """report.md failing to write left report.html in place, saying every theorem passed."""
    write_text = Path.write_text

    def markdown_fails(path, *args, **kwargs):
        if "report.md" in path.name:
            raise OSError(28, "No space left on device")
        return write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", markdown_fails)
    with pytest.raises(OSError, match="No space left"):
        write_report(tmp_path, ["grad-bias"], figures=False, progress=None)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(Path, "write_text", write_text)
    write_report(tmp_path, ["grad-bias"], figures=False, progress=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md"]
