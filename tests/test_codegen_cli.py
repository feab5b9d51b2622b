"""``convproof kernels``: --list, --emit DIR, --compile and --emulate [--json]."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convproof.codegen import cli
from convproof.codegen import compile as compiling
from convproof.codegen.compile import nvcc
from convproof.gpu import emulate, standard
from convproof.gpu.emulate import compiler_available
from convproof.spec import ConvSpec

KERNELS = standard.standard_kernels()
WIDE = standard.standard_kernels(index32=False)


def test_list_names_every_standard_kernel(capsys):
    assert cli.main(["--list"]) == 0
    names = capsys.readouterr().out.split()
    assert names == [kernel.name for kernel in standard.standard_kernels()]
    for family in ("conv1d_fwd", "conv2d_bwd_data", "conv3d_bwd_weight", "conv_transpose2d",
                   "max_pool2d_fwd", "max_pool3d_bwd", "avg_pool1d_fwd", "avg_pool2d_bwd",
                   "convolve2d_fwd", "pad2d_adjoint", "adaptive_max_pool2d_bwd"):
        assert any(name.startswith(family) for name in names), family


def test_emit_writes_one_source_per_kernel(tmp_path, capsys):
    assert cli.main(["--", "--emit", str(tmp_path / "cuda")]) == 0
    written = {path.stem: path.read_text() for path in (tmp_path / "cuda").glob("*.cu")}
    assert written == {k.name: k.source for k in standard.standard_kernels()}
    assert "wrote" in capsys.readouterr().err


def test_emit_that_cannot_write_exits_2_naming_the_file(tmp_path, capsys):
    (tmp_path / "cuda" / f"{KERNELS[0].name}.cu").mkdir(parents=True)  # a folder in the way
    assert cli.main(["--emit", str(tmp_path / "cuda")]) == 2
    err = capsys.readouterr().err
    assert f"convproof kernels --emit: cannot write {tmp_path / 'cuda' / KERNELS[0].name}.cu: " \
           "Is a directory" in err and "Traceback" not in err


def test_emulate_without_a_compiler_says_so(monkeypatch, capsys):
    monkeypatch.setattr(emulate, "compiler_available", lambda: False)
    assert cli.main(["--emulate"]) == 1
    assert capsys.readouterr().err.startswith(
        "convproof kernels --emulate: CPU emulation needs a C++ compiler with OpenMP")


@pytest.mark.skipif(nvcc() is None, reason="nvcc is not installed")
def test_compile_names_the_compiler_and_the_count(monkeypatch, capsys):
    monkeypatch.setattr(standard, "standard_kernels",
                        lambda index32=True: KERNELS[:2] if index32 else WIDE[:1])
    assert cli.main(["--compile", "--arch", "sm_90"]) == 0
    assert "3 kernels compiled for sm_90 with nvcc" in capsys.readouterr().err


def test_an_architecture_nvcc_would_not_know_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--compile", "--arch", "sm_bogus"])
    assert exit_.value.code == 2
    assert "'sm_bogus' is no GPU architecture" in capsys.readouterr().err


def test_compile_fails_with_the_reason_when_the_compiler_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(standard, "standard_kernels", lambda index32=True: KERNELS[:1])
    monkeypatch.setattr(compiling, "nvrtc", lambda: None)
    assert cli.main(["--compile", "--compiler", "nvrtc"]) == 1
    assert "NVRTC is not available through CuPy" in capsys.readouterr().err


@pytest.mark.skipif(not compiler_available(), reason="no C++ compiler for the emulation")
def test_emulate_reports_json_and_fails_on_a_wrong_kernel(monkeypatch, capsys):
    spec = ConvSpec(2, 3, (3,), padding=1)
    good = standard.Case("conv", spec, (7,), np.dtype(np.float64))
    monkeypatch.setattr(standard, "standard_cases", lambda: [good])
    assert cli.main(["--emulate", "--json", "--seed", "1"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["kernel"].startswith("conv1d_fwd_k3_s1_p1") and row["ok"]
    assert row["max_rel_err"] < 1e-12

    right = standard.OPS["conv"]
    doubled = standard.Op(right.arrays, right.run,
                          lambda case, a: [2 * r for r in right.reference(case, a)])
    monkeypatch.setitem(standard.OPS, "conv", doubled)
    assert cli.main(["--emulate"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("FAILED") and "0 of 1 cases (1 kernels)" in captured.err
