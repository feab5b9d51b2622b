"""Every theorem of the catalog: its proof file, its levels, its claims and its mutants."""

from __future__ import annotations

import importlib
import pathlib
import tomllib

import pytest

from convproof.catalog import CATALOG, module_name
from convproof.symbolic import load

ROOT = pathlib.Path(__file__).resolve().parents[1]
IDS = list(CATALOG)


def test_every_catalog_id_has_a_proof_file_and_nothing_else_is_there():
    files = {p.stem for p in (ROOT / "proofs").glob("*.py") if p.stem != "__init__"}
    assert files == {module_name(tid) for tid in IDS}


@pytest.mark.parametrize("theorem_id", IDS)
def test_the_theorem_reaches_its_catalog_levels(theorem_id):
    result = load(theorem_id).prove()
    assert result.ok, result.message
    assert set(CATALOG[theorem_id].levels) <= set(result.levels)


@pytest.mark.parametrize("theorem_id", IDS)
def test_every_exported_claim_has_passing_evidence(theorem_id):
    theorem = load(theorem_id)
    backed = {e.claim.name for e in theorem.prove().evidence if e.ok and e.claim is not None}
    assert set(theorem.claims) <= backed


@pytest.mark.parametrize("theorem_id", IDS)
def test_every_certificate_states_what_it_compares(theorem_id):
    """A certificate shows its claim in the report, or, where it compares something no claim
    states (a Jacobian against a matrix), says in words what it compares."""
    silent = [e.title for e in load(theorem_id).prove().evidence
              if e.kind == "certified" and e.claim is None and "compared" not in e.details]
    assert not silent


@pytest.mark.parametrize("theorem_id", IDS)
def test_every_mutant_is_killed_by_a_failing_check(theorem_id):
    mutants = load(theorem_id).mutants
    assert mutants, "each theorem carries wrong statements that the engine must refuse"
    for mutant in mutants:
        outcome = mutant.run()
        assert outcome["killed"], f"{mutant.name} survived"
        assert not outcome["by"].startswith("refused"), outcome["by"]


@pytest.mark.parametrize("theorem_id, condition", [
    ("output-size", r"d(k-1) + 1 \le n + p + q"),   # no window fits otherwise: 0, not -2
    ("pooling-invariance", "s = 1"),               # GAP at s = 2: 3.5 against 2.0
    ("translation-equivariance", "s = 1"),          # strided-equivariance refutes s = 2
    ("layer-equivariance", "unit strides"),
    ("zero-padding-border", "s = 1"),
    ("toeplitz-structure", "p + q = d(k-1)"),
    ("efficiency-counts", "valid"),
    ("grad-input-flip", r"a = (n + p + q - d(k-1) - 1) \bmod s"),
    ("stride-is-subsampling", r"a = (n + p + q - d(k-1) - 1) \bmod s"),
    ("matrix-backward", r"a = (n + p + q - d(k-1) - 1) \bmod s"),
    ("correlation-convolution-duality", r"a = (n + p + q - d(k-1) - 1) \bmod s"),
    ("rotation-scale", "unit stride, one channel"),
    ("winograd-transform", r"F(4{\times}4, 3{\times}3)"),  # sizes fixed by construction
])
def test_a_headline_statement_carries_the_conditions_of_its_claims(theorem_id, condition):
    """The report prints the statement above "proved for all sizes"; it stated more than the
    claims it proves where it left their hypotheses out."""
    assert condition in load(theorem_id).statement


def test_there_are_at_least_thirty_mutants():
    assert sum(len(load(tid).mutants) for tid in IDS) >= 30


@pytest.mark.parametrize("theorem_id", IDS)
def test_the_proof_module_offers_prove_and_render(theorem_id):
    module = importlib.import_module(f"convproof.proofs.{module_name(theorem_id)}")
    assert module.prove() is load(theorem_id).prove()
    assert callable(module.render) and module.__doc__


def test_the_wheel_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    source = ROOT / "src"
    found = {".".join(p.parent.relative_to(source).parts) for p in source.rglob("__init__.py")}
    assert found | {"convproof.proofs"} == listed
