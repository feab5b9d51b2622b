"""Report sections: levels are stated honestly, failures are shown with their message, grids
and witnesses are laid out faithfully (checked entry by entry against the evidence)."""

from __future__ import annotations

import sys

import pytest
import sympy

from convproof.catalog import CATALOG, module_name
from convproof.report.html import render_section
from convproof.report.markdown import render_section as markdown_section
from convproof.report.notation import conditions
from convproof.report.sections import (GRID_ROWS, _prose, _signal_witness, build_section,
                                       grid_table, unloaded_section)
from convproof.symbolic import Claim, Derivation, Point, Signal, load, scalar, universal
from convproof.symbolic.proof import Evidence, Result
from convproof.symbolic.rules_sums import every


def failing_result(theorem_id: str) -> Result:
    """The theorem's claim with a derivation whose only step is wrong: its rule does not
    give the expression written after it."""
    theorem = load(theorem_id)
    claim = next(iter(theorem.claims.values()))
    wrong = Derivation(claim.lhs, "a step that does not follow").by(
        "definition", claim.lhs + 1, "a deliberately wrong step")
    evidence = universal(claim, wrong)
    assert not evidence.ok
    return Result(theorem_id, CATALOG[theorem_id].levels, [evidence], 0.5)


def test_a_proved_theorem_states_its_levels_in_the_fixed_words():
    theorem = load("banded-matrix")
    section = build_section(theorem, theorem.prove())
    assert section.ok and section.status == "ok" and section.loaded
    assert section.group == CATALOG["banded-matrix"].section
    verdicts = {view.kind: view.verdict for view in section.evidence}
    assert verdicts["universal"] == "proved for all sizes"
    assert verdicts["certified"].startswith("certified on a grid of ")
    derivation = next(view for view in section.evidence if view.steps)
    assert all(step.ok and step.description for step in derivation.steps)
    assert any(step.backwards for step in derivation.steps)
    assert section.prose and section.prose[0][0] == "text"


def test_a_failed_derivation_is_failed_with_its_message_in_html_and_markdown():
    theorem = load("flip-equivalence")
    section = build_section(theorem, failing_result("flip-equivalence"))
    assert not section.ok and section.status == "failed" and section.levels == []
    view = section.evidence[0]
    assert view.verdict == "failed" and not view.steps[0].ok
    assert "differ" in view.steps[0].message
    page = render_section(section)
    assert 'class="theorem bad-theorem"' in page and "bad-step" in page
    assert "Falls short" in page and "level not reached: universal" in page
    assert "proved for all sizes" not in page
    text = markdown_section(section)
    assert "**FAILED**" in text and "**failed:" in text and "proved for all sizes" not in text


def test_a_theorem_whose_proof_file_did_not_finish_importing_fails(monkeypatch):
    theorem = load("grad-bias")
    monkeypatch.delitem(sys.modules, f"convproof.proofs.{module_name('grad-bias')}")
    section = build_section(theorem, theorem.prove())
    assert not section.ok
    assert section.evidence[-1].message == "the proof file did not finish importing"


def test_a_catalog_id_without_a_proof_file_is_marked_missing():
    result = Result("batchnorm", CATALOG["batchnorm"].levels,
                    [Evidence("failed", "load", False, "ModuleNotFoundError: no batchnorm")], 0.0)
    section = unloaded_section("batchnorm", result)
    assert section.status == "missing" and not section.ok
    page = render_section(section)
    assert 'id="batchnorm"' in page and "No proof of this catalog id could be loaded" in page
    assert "ModuleNotFoundError: no batchnorm" in page


def test_a_refutation_shows_its_witness_as_matrices_and_where_the_sides_differ():
    theorem = load("zero-padding-border")
    section = build_section(theorem, theorem.prove())
    refutation = next(view for view in section.evidence if view.kind == "refuted")
    assert refutation.ok and refutation.verdict == "refuted with a witness"
    assert "padding 1" in refutation.point
    shown = {w.name: w for w in refutation.witness}
    assert shown["x"].matrix == sympy.Matrix([[1, 2, 3, 4]])
    assert shown["x"].label == "x[0, 0, 0, j], j = 0…3"
    assert shown["w"].matrix == sympy.Matrix([[1, 1, 1]])
    evidence = next(e for e in theorem.prove().evidence if e.kind == "refuted")
    expected = {(str(at[0]), str(left), str(right))
                for at, (left, right) in evidence.witness["differences"].items()}
    assert {tuple(row) for row in refutation.differences.rows} == expected


def test_a_witness_matrix_holds_every_entry_at_its_place(rng):
    for _ in range(20):
        rows, columns = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        low = (int(rng.integers(-3, 3)), int(rng.integers(-3, 3)))
        entries = {(0, low[0] + r, 7, low[1] + c): int(rng.integers(-9, 10))
                   for r in range(rows) for c in range(columns) if rng.random() < 0.6}
        entries[(0, low[0], 7, low[1])] = 5
        entries[(0, low[0] + rows - 1, 7, low[1] + columns - 1)] = -5
        witness = _signal_witness("u", entries)
        assert witness.matrix.shape == ((rows, columns) if rows > 1 else (1, columns))
        for (_, r, _, c), value in entries.items():
            assert witness.matrix[r - low[0], c - low[1]] == value
        assert sum(abs(v) for v in witness.matrix) == sum(abs(v) for v in entries.values())


def test_a_witness_over_three_varying_axes_is_listed_entry_by_entry():
    entries = {(0, 0, 0): 1, (1, 1, 1): 2}
    witness = _signal_witness("v", entries)
    assert witness.matrix is None
    assert witness.entries.rows == [["(0, 0, 0)", "1"], ["(1, 1, 1)", "2"]]


def test_the_grid_table_lists_every_size_of_every_point_and_counts_the_rest():
    n, k = sympy.Symbol("n"), sympy.Symbol("k")
    points = [Point({n: (5 + i,), k: (3,)}, 1) for i in range(GRID_ROWS + 3)]
    points[0] = Point({n: (5, 6)}, 2, note="2-D", label={"n": (5, 6)})
    table = grid_table(points)
    assert table.columns == ["n", "k", "note"]
    assert table.rows[0] == ["(5, 6)", "", "2-D"]
    assert table.rows[1] == ["(6,)", "(3,)", ""]
    assert len(table.rows) == GRID_ROWS and table.omitted == 3


def test_the_docstring_becomes_text_formulas_and_items():
    doc = ("some-id: the summary line.\n\nA paragraph\nover two lines:\n\n"
           "    y = A x,\n      A = B\n\n- an item\n  that goes on\n- another\n")
    assert _prose(doc) == [("text", "The summary line."),
                           ("text", "A paragraph over two lines:"),
                           ("formula", "y = A x,\n  A = B"),
                           ("item", "an item that goes on"), ("item", "another")]


@pytest.mark.parametrize("theorem_id", ["strided-equivariance", "separable-kernels"])
def test_theorem_render_builds_the_section(theorem_id):
    section = load(theorem_id).render()
    assert section.id == theorem_id and section.ok
    assert f'id="{theorem_id}"' in section.html() and f'<a id="{theorem_id}">' in section.markdown()


def test_a_claim_with_hypotheses_shows_them():
    theorem = load("banded-matrix")
    section = build_section(theorem, theorem.prove())
    view = next(v for v in section.evidence
                if isinstance(v.claim, Claim) and v.claim.hypotheses)
    assert "assuming" in render_section(section)
    assert view.claim.hypotheses[0].rhs == 1


def test_a_claim_stated_where_an_entry_is_nonzero_shows_it():
    theorem = load("activation-derivatives")
    section = build_section(theorem, theorem.prove())
    assert r"assuming ${x}_{j} \neq 0$" in markdown_section(section)
    assert "<mo>≠</mo><mn>0</mn>" in render_section(section)


def test_the_errors_of_the_notes_are_named_with_their_corrections():
    """Each error of the lecture notes appears among the theorems' notes, corrected."""
    notes = {tid: " ".join(load(tid).notes) for tid in
             ("flip-equivalence", "output-size", "grad-weight", "strided-equivariance",
              "efficiency-counts", "transposed-output-size", "batchnorm", "commutativity")}
    assert "the flipped kernel" in notes["flip-equivalence"]
    assert "(2m + 1) × (2n + 1)" in notes["flip-equivalence"]
    assert "sums run over the kernel's whole domain, -k to k" in notes["flip-equivalence"]
    assert "(n + 1) × (n + 1)" in notes["output-size"]
    assert "padded as in the forward pass" in notes["grad-weight"]
    assert "holds for stride 1" in notes["strided-equivariance"]
    assert "28 × 28 = 784" in notes["efficiency-counts"]
    assert notes["transposed-output-size"].startswith("Not the notes but the catalog")
    assert "needs m ∈ {-(h-1)/2, ..., (h-1)/2}" in notes["flip-equivalence"]
    assert "Cross-correlation reverses nothing" in notes["flip-equivalence"]
    assert "It is E ⋆ X: ∂L/∂w[m] = Σ_i E[i] X[i + m]" in notes["grad-weight"]
    assert "√(σ² + ε)" in notes["batchnorm"]
    assert "with μ = δ₀, f ∗ g(x) = f(0) g(x) but g ∗ f(x) = g(0) f(x)" in notes["commutativity"]
    assert not load("associativity").notes  # the notes never say that layers merge


def test_a_hypothesis_for_every_index_names_the_values_it_holds_for():
    q, w, a = scalar("q", positive=True), scalar("w", nonnegative=True), scalar("a")
    y = Signal("y")
    claim = Claim("c", y[1], 1, hypotheses=(every((q, w, a), y[q + w + a], 1),))
    (words, _), = conditions(claim)
    assert words == "for all q ≥ 1, w ≥ 0, a: "


@pytest.mark.parametrize("theorem_id, power", [("init-variance", r"\sigma^{2}"),
                                               ("adam-bias-correction", "g^{2}")])
def test_a_square_is_printed_as_a_power_not_a_subscript(theorem_id, power):
    """σ² and g² are named so: a symbol sigma2 printed as σ with the subscript 2."""
    theorem = load(theorem_id)
    text = markdown_section(build_section(theorem, theorem.prove()))
    assert power in text and power.replace("^", "_") not in text
