"""The LeNet of the notes, trained with Adam on scikit-learn's bundled 8x8 digits.

    python -m convproof.examples.lenet [--epochs N] [--batch-norm] [--device cpu|gpu]
                                       [--save PATH] [--load PATH] [--json]

Network (32x32 input): conv 6 filters 5x5 -> ReLU -> 2x2 max pool, stride 2 -> conv 16 filters
5x5 -> ReLU -> pool -> FC 120 -> ReLU -> FC 100 -> ReLU -> FC 10, optionally with batch norm
after each conv.  Data: the 1797 digits of ``sklearn.datasets.load_digits`` (no download),
each pixel repeated 4x4 to make 32x32 images, standardized with the training set's mean and
standard deviation, split 75/25 with a fixed seed, stratified by class.  Training draws a
random translation of up to 2 pixels per image and iteration.  A progress bar per epoch goes
to stderr; with ``--json`` the last line on stdout is
``{"test_accuracy": ..., "seconds": ..., "epochs": ...}``.
The same code runs on CuPy with ``--device gpu``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .. import nn
from ..arrays import array_module
from ..cli import non_negative, positive, readable_file, writable_file
from ..gpu.module import cupy_module
from ..nn.module import to_device

UPSAMPLE = 4  # 8x8 digits -> 32x32, the input size of the notes' LeNet
BAR_WIDTH = 30


def load_digits32(test_fraction: float = 0.25, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): float32 images (N, 1, 32, 32), int64 labels."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError("the LeNet example needs scikit-learn: "
                          "pip install 'convproof[examples]'") from exc
    digits = load_digits()
    images = digits.images.repeat(UPSAMPLE, axis=1).repeat(UPSAMPLE, axis=2)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target.astype(np.int64), test_size=test_fraction, random_state=seed,
        stratify=digits.target)
    mean, std = x_train.mean(), x_train.std()

    def standardize(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32)

    return standardize(x_train), y_train, standardize(x_test), y_test


def lenet(batch_norm: bool = False, rng: Any = None) -> nn.Sequential:
    """The notes' LeNet for 1x32x32 inputs and 10 classes (63,802 parameters without BN)."""
    generator = np.random.default_rng(rng)

    def stage(in_channels: int, out_channels: int) -> list[nn.Module]:
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 5, rng=generator)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        return [*layers, nn.ReLU(), nn.MaxPool2d(2, stride=2)]

    return nn.Sequential(
        *stage(1, 6), *stage(6, 16), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120, rng=generator), nn.ReLU(),
        nn.Linear(120, 100, rng=generator), nn.ReLU(),
        nn.Linear(100, 10, rng=generator),
    )


def _progress(stream: TextIO | None, epoch: int, epochs: int, done: int, total: int,
              loss: float) -> None:
    if stream is None:
        return
    filled = BAR_WIDTH * done // total
    stream.write(f"\repoch {epoch}/{epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                 f"{done}/{total} loss {loss:.4f}")
    stream.flush()


def train_epoch(model: nn.Module, optimizer: nn.optim.Optimizer, x: Any, y: Any,
                batch_size: int, rng: np.random.Generator, max_shift: int = 2,
                epoch: int = 1, epochs: int = 1, stream: TextIO | None = None) -> float:
    """One pass over (x, y) in shuffled minibatches; the mean training loss."""
    model.train()
    xp = array_module(x)
    total, losses = -(-len(y) // batch_size), []
    for done, index in enumerate(nn.data.minibatches(len(y), batch_size, rng), start=1):
        index = xp.asarray(index)
        images = nn.data.random_translation(x[index], max_shift, rng) if max_shift else x[index]
        loss, grad = nn.losses.softmax_cross_entropy(model.forward(images), y[index])
        optimizer.zero_grad()
        model.backward(grad)
        optimizer.step()
        losses.append(float(loss))
        _progress(stream, epoch, epochs, done, total, float(np.mean(losses)))
    return float(np.mean(losses))


def accuracy(model: nn.Module, x: Any, y: Any, batch_size: int = 500) -> float:
    """The fraction of (x, y) that the model classifies right, in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(y), batch_size):
        logits = model.forward(x[start:start + batch_size])
        correct += int((logits.argmax(axis=1) == y[start:start + batch_size]).sum())
    return correct / len(y)


def run(epochs: int = 15, batch_size: int = 32, lr: float = 1e-3, batch_norm: bool = False,
        device: str = "cpu", seed: int = 0, stream: TextIO | None = None,
        save: str | None = None, load: str | None = None) -> dict[str, Any]:
    """Train and test; the summary {"test_accuracy", "seconds", "epochs", "history"}.

    Training starts from the parameters in the file ``load`` when given, and writes them to
    ``save`` at the end when given; progress bars go to ``stream`` when one is given.
    """
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = (to_device(a, device) for a in load_digits32(seed=seed))
    rng = np.random.default_rng(seed)
    model = lenet(batch_norm, rng)
    if load:
        model.load(load)
    model.to(device)
    optimizer = nn.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        loss = train_epoch(model, optimizer, x_train, y_train, batch_size, rng,
                           epoch=epoch, epochs=epochs, stream=stream)
        test_accuracy = accuracy(model, x_test, y_test)
        history.append({"epoch": epoch, "loss": loss, "test_accuracy": test_accuracy})
        if stream is not None:
            stream.write(f"  test accuracy {test_accuracy:.4f}\n")
    if save:
        model.save(save)
    final = history[-1]["test_accuracy"] if history else accuracy(model, x_test, y_test)
    return {"test_accuracy": final, "seconds": round(time.perf_counter() - start, 2),
            "epochs": epochs, "history": history}


def _learning_rate(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _seed(text: str) -> int:
    """A seed for NumPy and scikit-learn's split: an integer in [0, 2^32)."""
    value = non_negative(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {value}")
    return value


def _refused_state(path: Path, batch_norm: bool) -> str | None:
    """Why the parameters in ``path`` cannot start this model, or None."""
    try:
        lenet(batch_norm, np.random.default_rng(0)).load(str(path))
    except ValueError as exc:
        other = " (saved without --batch-norm?)" if batch_norm else " (saved with --batch-norm?)"
        return f"{exc}{other if str(exc).startswith('state does not fit') else ''}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Train (or evaluate) LeNet-5 on the digits; prints the test accuracy, 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m convproof.examples.lenet",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=non_negative, default=15)
    parser.add_argument("--batch-size", type=positive, default=32)
    parser.add_argument("--lr", type=_learning_rate, default=1e-3)
    parser.add_argument("--batch-norm", action="store_true", help="batch norm after each conv")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--seed", type=_seed, default=0)
    parser.add_argument("--save", metavar="PATH", type=writable_file,
                        help="write the trained parameters (.npz)")
    parser.add_argument("--load", metavar="PATH", type=readable_file,
                        help="start from saved parameters (with --epochs 0: evaluate them)")
    parser.add_argument("--json", action="store_true", help="end with a JSON summary line")
    args = parser.parse_args(argv)
    if args.device == "gpu":
        try:
            cupy_module()
        except ImportError as exc:
            parser.error(f"--device gpu: {exc}")
    refused = args.load and _refused_state(args.load, args.batch_norm)
    if refused:
        parser.error(f"--load: {refused}")
    summary = run(args.epochs, args.batch_size, args.lr, args.batch_norm, args.device,
                  args.seed, sys.stderr, *(None if path is None else str(path)
                                           for path in (args.save, args.load)))
    if args.json:
        print(json.dumps({key: summary[key] for key in ("test_accuracy", "seconds", "epochs")}))
    else:
        print(f"test accuracy {summary['test_accuracy']:.4f} after {summary['epochs']} epochs, "
              f"{summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
