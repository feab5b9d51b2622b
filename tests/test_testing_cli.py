"""``convproof check`` on functions in a user's module, and the runnable examples of
docs/checking.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from convproof.cli import main as convproof_main
from convproof.testing.cli import main
from convproof.testing.plugin import ConvChecker

DOC = Path(__file__).resolve().parents[1] / "docs" / "checking.md"

USER_MODULE = '''
import numpy as np


def shifted(x, w, b):
    """A conv1d padded (2, 1) where (1, 1) was meant."""
    xp = np.pad(x, ((0, 0), (0, 0), (2, 1)))
    k = w.shape[-1]
    out = xp.shape[-1] - k + 1
    y = np.stack([np.einsum("ncl,ocl->no", xp[:, :, i:i + k], w) for i in range(out)], -1)
    return y + b[:, None]


def pool(x):
    """max_pool1d with kernel 2 and stride 2."""
    out = x.shape[-1] // 2
    return np.maximum(x[..., 0:2 * out:2], x[..., 1:2 * out:2])
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_layers.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "user_layers.py"


def test_a_diagnosis_exits_1(user_module, capsys):
    assert main(["user_layers:shifted", "--dims", "1", "--padding", "1", "--seed", "5"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("conv1d(padding=1): padding off by +1 at the start of axis L: you pad "
                          "(2, 1), expected (1, 1)")
    assert "seed=5 reproduces this check" in out


def test_a_diagnosis_reaches_a_terminal_without_unicode(user_module):
    """Σ and · under an ASCII stdout ended in UnicodeEncodeError, exit 1, no diagnosis."""
    import os
    import subprocess
    import sys
    (user_module.parent / "flipped.py").write_text(
        "import convproof.functional as F\n\n\ndef flipped(x, w, b):\n"
        "    return F.conv1d(x, w[..., ::-1], b)\n")
    result = subprocess.run(
        [sys.executable, "-m", "convproof", "check", "flipped.py:flipped", "--dims", "1"],
        capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"},
        cwd=user_module.parent)
    assert result.returncode == 1, result.stderr
    assert b"your kernel is flipped" in result.stdout and b"\\u03a3_m" in result.stdout


def test_a_closed_or_plain_stdout_is_left_as_it_is(monkeypatch):
    """The escapes are set where a text stream takes them; a closed one raised ValueError."""
    import io

    from convproof import cli
    closed = io.TextIOWrapper(io.BytesIO())
    closed.close()
    for stream in (closed, io.StringIO()):
        monkeypatch.setattr(sys, "stdout", stream)
        cli._writable_text()


def test_the_top_level_command_dispatches_to_check(user_module, capsys):
    assert convproof_main(["check", f"{user_module}:shifted", "--dims", "1",
                           "--padding", "((2, 1),)", "--trials", "1"]) == 0
    assert capsys.readouterr().out.startswith("conv1d(padding=((2, 1),)): 8 calls agree")


def test_pooling_by_file_path(user_module, capsys):
    assert main([f"{user_module}:pool", "--op", "max_pool", "--dims", "1", "--kernel-size", "2",
                 "--dtype", "float32"]) == 0
    assert "tolerance 1e-04" in capsys.readouterr().out


@pytest.mark.parametrize("argv,pattern", [
    (["user_layers"], "function must be module:name or file.py:name, got 'user_layers'"),
    (["user_layers:nothing"], "user_layers has no function 'nothing'"),
    (["missing.py:f"], "no such file: missing.py"),
    (["user_layers:shifted", "--stride", "0"], "stride must be a positive integer, got 0"),
])
def test_bad_arguments_exit_2_with_the_reason(user_module, capsys, argv, pattern):
    assert main(argv) == 2
    assert re.search(pattern, capsys.readouterr().err)


def test_a_pooling_without_kernel_size_is_a_usage_error(user_module, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["user_layers:pool", "--op", "avg_pool"])
    assert exit_.value.code == 2
    assert "--op avg_pool needs --kernel-size" in capsys.readouterr().err


@pytest.mark.parametrize("argv,flag,op", [
    (["user_layers:shifted", "--exclude-pad"], "--exclude-pad", "conv"),
    (["user_layers:pool", "--op", "max_pool", "--kernel-size", "2", "--groups", "2"], "--groups",
     "max_pool"),
    (["user_layers:pool", "--op", "avg_pool", "--kernel-size", "2", "--no-bias"], "--no-bias",
     "avg_pool"),
    (["user_layers:shifted", "--ceil-mode"], "--ceil-mode", "conv"),
])
def test_an_option_the_operation_does_not_take_is_a_usage_error(user_module, capsys, argv, flag,
                                                                op):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert f"{flag} does not apply to --op {op}" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # plugin not loaded
def test_the_examples_of_the_guide_run(capsys):
    """Every python block of docs/checking.md, in order, in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    shown = capsys.readouterr().out
    assert "conv2d(stride=2, padding=1): 24 calls agree" in shown
    assert "conv2d(stride=2, padding=1): your kernel is flipped" in shown
    namespace["test_my_conv"](ConvChecker({}))
    namespace["test_my_conv_in_float32"](ConvChecker({"dtype": np.float32, "trials": 5}))


@pytest.mark.parametrize("source,error", [("def my_conv(x, w, b) return x\n", "SyntaxError"),
                                          ("raise RuntimeError('at import')\n", "RuntimeError"),
                                          # exited 0 with nothing printed: a pass in CI
                                          ("import sys\nsys.exit(0)\n", "SystemExit: 0")])
def test_a_module_that_cannot_be_loaded_exits_2_naming_it(tmp_path, monkeypatch, capsys, source,
                                                          error):
    (tmp_path / "broken.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert main(["broken.py:my_conv"]) == 2
    assert re.search(f"cannot load broken.py:my_conv: {error}", capsys.readouterr().err)


def test_a_function_that_exits_is_a_failure_not_a_pass(tmp_path, monkeypatch, capsys):
    (tmp_path / "exiting.py").write_text("import sys\n\n\ndef my_conv(x, w, b):\n"
                                         "    sys.exit(0)\n\n\nNOT_CALLABLE = 3\n")
    monkeypatch.chdir(tmp_path)
    assert main(["exiting.py:my_conv"]) == 1
    assert "your function raised SystemExit: 0" in capsys.readouterr().out
    assert main(["exiting.py:NOT_CALLABLE"]) == 2
    assert "exiting.py:NOT_CALLABLE: fn must be callable" in capsys.readouterr().err


SIBLING = '''
import numpy as np


def conv1d(x, w, b):
    k = w.shape[-1]
    windows = np.stack([x[:, :, i:i + k] for i in range(x.shape[-1] - k + 1)], axis=2)
    return np.einsum("ncjk,ock->noj", windows, w) + b[:, None]
'''

SCRIPT = '''
from __future__ import annotations

from dataclasses import dataclass

from conv_helpers import conv1d


@dataclass
class Layer:
    name: str


def my_conv(x, w, b):
    return conv1d(x, w, b)
'''


def test_a_file_runs_as_a_script_runs(tmp_path, monkeypatch, capsys):
    """A file.py imports its neighbours and may define dataclasses (which look their module up
    in sys.modules), from any current folder, as `python file.py` allows."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "conv_helpers.py").write_text(SIBLING)
    (folder / "layers.py").write_text(SCRIPT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        assert main([f"{folder / 'layers.py'}:my_conv", "--dims", "1", "--trials", "2"]) == 0
    finally:
        for name in ("layers", "layers__checked", "conv_helpers"):
            sys.modules.pop(name, None)
    assert re.match(r"conv1d\(\): \d+ calls agree", capsys.readouterr().out)
