"""The LeNet example: the notes' architecture, a short training run that learns, the command line.

The full run (97% or more on the digits) is measured by running the example; here a couple of
epochs on a subset must lower the loss and classify far above chance (10%).
"""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from convproof import nn  # noqa: E402
from convproof.examples import lenet  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return lenet.load_digits32()


def test_data_split_and_layout(digits):
    x_train, y_train, x_test, y_test = digits
    assert x_train.shape == (1347, 1, 32, 32) and x_test.shape == (450, 1, 32, 32)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert set(np.unique(y_test)) == set(range(10))
    assert abs(x_train.mean()) < 1e-4 and abs(x_train.std() - 1) < 1e-4


def test_the_notes_architecture(torch):
    model = lenet.lenet(rng=0)
    shapes = [(type(layer).__name__, tuple(p.shape for p in layer.parameters()))
              for layer in model if layer.parameters()]
    assert shapes == [("Conv2d", ((6, 1, 5, 5), (6,))), ("Conv2d", ((16, 6, 5, 5), (16,))),
                      ("Linear", ((120, 400), (120,))), ("Linear", ((100, 120), (100,))),
                      ("Linear", ((10, 100), (10,)))]
    assert model.parameter_count() == 63802
    with_bn = lenet.lenet(batch_norm=True, rng=0)
    assert sum(isinstance(layer, nn.BatchNorm2d) for layer in with_bn) == 2


@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_short_run_learns(batch_norm, digits, rng):
    x_train, y_train, x_test, y_test = digits
    subset = rng.permutation(len(y_train))[:480]
    model = lenet.lenet(batch_norm, rng)
    optimizer = nn.optim.Adam(model.parameters(), lr=2e-3)
    losses = [lenet.train_epoch(model, optimizer, x_train[subset], y_train[subset], 32, rng)
              for _ in range(2)]
    assert losses[1] < 0.8 * losses[0]
    assert lenet.accuracy(model, x_test, y_test) > 0.5


def test_command_line_json_and_saved_parameters(digits, tmp_path, capsys):
    path = tmp_path / "lenet.npz"
    assert lenet.main(["--epochs", "1", "--json", "--save", str(path)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert set(summary) == {"test_accuracy", "seconds", "epochs"}
    assert summary["epochs"] == 1 and summary["seconds"] > 0
    assert "epoch 1/1 [" in captured.err and "43/43" in captured.err
    model = lenet.lenet().load(path)
    _, _, x_test, y_test = digits
    assert lenet.accuracy(model, x_test, y_test) == summary["test_accuracy"] > 0.3
    assert lenet.main(["--epochs", "0", "--load", str(path), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test_accuracy"] == summary["test_accuracy"]


@pytest.mark.parametrize("argv, message", [
    (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
    (["--epochs", "-1"], "argument --epochs: must be at least 0, got -1"),
    (["--lr", "-1"], "argument --lr: must be a finite number above 0, got -1"),
    (["--lr", "nan"], "argument --lr: must be a finite number above 0, got nan"),
    (["--lr", "fast"], "argument --lr: 'fast' is not a number"),
    (["--save", "no-such-folder/lenet.npz"],  # refused before any training
     "argument --save: 'no-such-folder/lenet.npz': the folder"),
    (["--load", "no-such-file.npz"], "argument --load: 'no-such-file.npz' is not a file"),
    (["--seed", "-3"], "argument --seed: must be at least 0, got -3"),  # was scikit-learn's
    (["--seed", str(2**32)], "argument --seed: must be below 2**32"),
])
def test_bad_command_line_arguments_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        lenet.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed")
def test_the_gpu_without_cupy_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        lenet.main(["--device", "gpu", "--epochs", "1"])
    assert exit_.value.code == 2
    assert "--device gpu: convproof's GPU backend needs CuPy" in capsys.readouterr().err


def test_a_file_that_cannot_start_the_model_is_a_usage_error(tmp_path, capsys):
    """A state of the model with batch norm loaded without it, or no state file at all, ended
    in a traceback after the data was loaded."""
    saved, plain = tmp_path / "bn.npz", tmp_path / "plain.npz"
    lenet.lenet(True, np.random.default_rng(0)).save(str(saved))
    lenet.lenet(False, np.random.default_rng(0)).save(str(plain))
    (tmp_path / "missing.txt").write_text("not a state")  # a name that holds 'missing'
    for path, options, message in (
            (saved, [], "missing .*\\(saved with --batch-norm\\?\\)$"),
            (plain, ["--batch-norm"], "missing .*\\(saved without --batch-norm\\?\\)$"),
            (tmp_path / "missing.txt", [], "is not a state file written by save\\(\\): [^(]*$")):
        with pytest.raises(SystemExit) as exit_:
            lenet.main(["--epochs", "0", "--load", str(path), *options])
        assert exit_.value.code == 2
        assert re.search(f"--load: .*{message}", capsys.readouterr().err.strip())
