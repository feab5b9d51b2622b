"""Bad arguments to every ``convproof`` command are refused (exit 2, the argument named in the
message) before any work starts: no theorem proved, no file written, nothing timed."""

from __future__ import annotations

import argparse
import os

import pytest

from convproof import cli


@pytest.fixture
def blocked(tmp_path):
    """A file where a folder would have to be."""
    path = tmp_path / "a-file"
    path.write_text("")
    return path


@pytest.mark.parametrize("argv, pattern", [
    (["prove", "--jobs", "0"], "argument --jobs: must be at least 1, got 0"),
    (["prove", "--jobs", "two"], "argument --jobs: 'two' is not an integer"),
    (["report", "--out", "{blocked}"], "argument --out: '{blocked}' is not a folder"),
    (["report", "--out", "{blocked}/sub"], "argument --out: '{blocked}/sub' cannot be made: "
                                            "'{blocked}' is a file"),
    (["kernels", "--emit", "{blocked}/sub"], "argument --emit: '{blocked}/sub' cannot be made"),
    (["kernels", "--emulate", "--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    (["kernels", "--list", "--json"], "--json goes with --emulate"),
    (["kernels", "--list", "--seed", "3"], "--seed goes with --emulate"),
    (["kernels", "--emulate", "--compiler", "nvrtc"], "--compiler goes with --compile"),
    (["kernels", "--emit", "{folder}/k", "--arch", "sm_80"], "--arch goes with --compile"),
    (["bench", "--repeats", "0"], "argument --repeats: must be at least 1, got 0"),
    (["bench", "--repeats", "-2"], "argument --repeats: must be at least 1, got -2"),
    (["bench", "--output", "{blocked}/sub/table.md"],
     "argument --output: '{blocked}/sub/table.md': the folder '{blocked}/sub' does not exist"),
    (["bench", "--output", "{folder}"], "argument --output: '{folder}' is a folder"),
])
def test_bad_arguments_exit_2_naming_them(argv, pattern, blocked, capsys, monkeypatch):
    def nothing_may_run(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")
    monkeypatch.setattr(cli, "prove_all", nothing_may_run)
    monkeypatch.setattr(cli, "prove_summaries", nothing_may_run)
    monkeypatch.setattr("convproof.bench.run_suite", nothing_may_run)
    monkeypatch.setattr("convproof.codegen.cli.emulate_all", nothing_may_run)
    places = dict(blocked=blocked, folder=blocked.parent)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([part.format(**places) for part in argv])
    assert exit_info.value.code == 2
    assert pattern.format(**places) in capsys.readouterr().err


def test_a_folder_that_does_not_exist_yet_is_fine(tmp_path):
    assert cli.writable_folder(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # made by the command, not by the check


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_folder_is_tried_not_judged_by_its_permission_bits():
    """/proc says writable to root by its bits, yet nothing can be made there."""
    with pytest.raises(argparse.ArgumentTypeError, match="'/proc/report' cannot be written"):
        cli.writable_folder("/proc/report")


def test_the_folder_check_leaves_nothing_behind(tmp_path):
    cli.writable_folder(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_permission_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(argparse.ArgumentTypeError, match="cannot be written: Permission"):
            cli.writable_folder(str(tmp_path / "report"))
        with pytest.raises(argparse.ArgumentTypeError, match="cannot be written: no permission"):
            cli.writable_file(str(tmp_path / "table.md"))
    finally:
        tmp_path.chmod(0o700)


def test_prove_hands_the_largest_proof_files_out_first():
    """Every id once, in falling size of its proof file (a rough measure of the proof's time),
    so that the longest proof does not start last and run alone; an id without a file last."""
    from pathlib import Path

    import convproof.proofs
    from convproof.catalog import CATALOG, module_name
    folder = Path(convproof.proofs.__path__[0])
    order = cli._largest_first(list(CATALOG) + ["no-such-proof"])
    assert sorted(order) == sorted(list(CATALOG) + ["no-such-proof"])
    sizes = [(folder / f"{module_name(tid)}.py").stat().st_size for tid in order[:-1]]
    assert sizes == sorted(sizes, reverse=True) and order[-1] == "no-such-proof"
