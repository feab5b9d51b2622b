"""Bad arguments to every ``convproof`` command are refused (exit 2, the argument named in the
message) before any work starts: no theorem proved, no file written, nothing timed."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

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


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_file_is_tried_not_judged_by_its_permission_bits():
    """/proc's bits say writable to root: the table was refused only after the whole bench."""
    with pytest.raises(argparse.ArgumentTypeError, match="'/proc/table.md' cannot be written"):
        cli.writable_file("/proc/table.md")


def test_a_name_longer_than_its_folder_allows_is_refused_before_the_work(tmp_path):
    """A name of 300 bytes failed only when the report or the table was written."""
    long = "a" * 300
    for check, text in ((cli.writable_file, f"{tmp_path}/{long}.md"),
                        (cli.writable_folder, f"{tmp_path}/{long}"),
                        (cli.writable_folder, f"{tmp_path}/made/{long}/deeper")):
        with pytest.raises(argparse.ArgumentTypeError, match=r"longer than the \d+ its folder"):
            check(text)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_not_opened_by_the_file_check(tmp_path):
    """Opening a pipe without a reader would wait for one."""
    os.mkfifo(tmp_path / "pipe")
    assert cli.writable_file(str(tmp_path / "pipe")) == tmp_path / "pipe"


def test_the_file_check_leaves_nothing_behind_and_keeps_what_was_there(tmp_path):
    cli.writable_file(str(tmp_path / "table.md"))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept.md").write_text("kept")
    cli.writable_file(str(tmp_path / "kept.md"))
    assert (tmp_path / "kept.md").read_text() == "kept"


def test_the_folder_check_leaves_nothing_behind(tmp_path):
    cli.writable_folder(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_folder_without_permission_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(argparse.ArgumentTypeError, match="cannot be written: Permission"):
            cli.writable_folder(str(tmp_path / "report"))
        with pytest.raises(argparse.ArgumentTypeError, match="cannot be written: Permission"):
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


@pytest.mark.parametrize("option", [["report", "--out"], ["kernels", "--emit"],
                                    ["bench", "--output"]])
def test_an_empty_or_dangling_path_is_refused(option, tmp_path, capsys, monkeypatch):
    """'' would be the current folder; a link to nothing passes every existence test, then
    fails at the write, after the work."""
    monkeypatch.chdir(tmp_path)  # where '' would write
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "gone")
    for path, reason in [("", "the path is empty"),
                         (str(dangling), f"is a link to '{tmp_path / 'gone'}', which does not "
                                         "exist")]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*option, path])
        assert exit_info.value.code == 2
        assert f"argument {option[1]}: " in (err := capsys.readouterr().err) and reason in err


def test_each_id_is_proved_once(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr(cli, "prove_summaries",
                        lambda ids, jobs: asked.append(ids) or
                        [{"id": tid, "ok": True, "message": ""} for tid in ids])
    assert cli.main(["prove", "banded-matrix", "output-size", "banded-matrix"]) == 0
    assert asked == [["banded-matrix", "output-size"]]
    assert "2 of 2 theorems" in capsys.readouterr().err


def test_a_proof_file_that_cannot_load_fails_its_mutants(monkeypatch, capsys):
    def broken(tid):
        raise SyntaxError("invalid syntax")
    monkeypatch.setattr("convproof.symbolic.load", broken)
    assert cli.main(["prove", "--mutants", "banded-matrix"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ("not run: banded-matrix: the proof file failed to load: SyntaxError: "
                            "invalid syntax\n")
    assert "0 of 1 mutants killed" in captured.err


def _sleeping_summary(tid):
    time.sleep(60)


def test_ctrl_c_stops_the_proving_processes(monkeypatch, capsys):
    """SIGINT to the parent alone (as `kill -INT`): it returns 130 at once, and the workers,
    which ignore SIGINT, are terminated rather than awaited."""
    monkeypatch.setattr(cli, "_summary", _sleeping_summary)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.perf_counter()
    timer.start()
    try:
        status = cli.main(["prove", "--jobs", "2", "banded-matrix", "output-size"])
    finally:
        timer.cancel()
    assert status == 130 and time.perf_counter() - started < 20
    assert multiprocessing.active_children() == []
    assert "convproof: interrupted" in capsys.readouterr().err


def test_a_reader_that_leaves_gets_no_traceback():
    """`convproof kernels --list | head -1`: the pipe closes before the output is written."""
    command = [sys.executable, "-c", "import sys, time; from convproof.cli import main; "
               "time.sleep(0.5); sys.exit(main(['kernels', '--list']))"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err
