"""``convproof check``: check a convolution or pooling function from the command line.

    convproof check mymodule:my_conv --dims 2 --stride 2 --padding 1
    convproof check path/to/layers.py:my_pool --op max_pool --kernel-size 3 --stride 2

The function is ``module:name`` (imported with the current directory on the path) or
``file.py:name`` (run as Python runs a script, its folder first on the path).  Option values
are Python literals (``--padding "((1, 0), (2, 1))"``) or, for the padding, a word
(``--padding same``); an option the operation does not take is refused.  Prints the result and
exits 0, or prints the diagnosis and exits 1; a bad argument, or a function that cannot be
loaded (its module fails to import), exits 2.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ..spec import PADDING_MODES
from . import CHECKS, EquivalenceError
from .interop import BACKENDS

OPERATIONS = {"conv": "conv{}d", "conv_transpose": "conv_transpose{}d",
              "backward": "conv{}d_backward", "max_pool": "max_pool{}d",
              "avg_pool": "avg_pool{}d"}
_LITERALS = ("stride", "padding", "dilation", "output-padding", "kernel-size")
_NOT_OPTIONS = ("function", "op", "dims")
_FLAGS = {"bias": "--no-bias", "count_include_pad": "--exclude-pad"}
"""The flag of each option whose name differs from it."""


def _literal(text: str) -> Any:
    """A Python literal ('2', '(1, 2)'), or the text itself ('same')."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``convproof check``."""
    parser = argparse.ArgumentParser(
        prog="convproof check", epilog="exit status: 0 agrees, 1 differs (diagnosis printed), "
        "2 bad argument or a function that cannot be loaded", description="Check a convolution "
        "or pooling function against the derived operation and name what is wrong with it.")
    parser.add_argument("function", help="module:name or file.py:name")
    parser.add_argument("--op", choices=OPERATIONS, default="conv",
                        help="what fn computes (default conv: fn(x, w, b) -> y)")
    parser.add_argument("--dims", type=int, choices=(1, 2, 3), default=2)
    for option in _LITERALS:
        parser.add_argument(f"--{option}", type=_literal, help="an int or a tuple" + (
            ", or a word: same, valid or full" if option == "padding" else ""))
    parser.add_argument("--groups", type=int)
    parser.add_argument("--padding-mode", choices=PADDING_MODES)
    parser.add_argument("--no-bias", dest="bias", action="store_false", default=None)
    parser.add_argument("--ceil-mode", action="store_true", default=None)
    parser.add_argument("--exclude-pad", dest="count_include_pad", action="store_false",
                        default=None, help="average pooling with count_include_pad=False")
    parser.add_argument("--dtype", choices=("float32", "float64"))
    parser.add_argument("--trials", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--backend", choices=BACKENDS)
    return parser


def _run_file(path: Path) -> ModuleType:
    """The module of a file, run as Python runs a script: its folder first on the path (its
    sibling modules import), and registered in sys.modules while it runs (dataclasses and
    pickling look their module up there), under its name unless a module has that name."""
    if not path.is_file():
        raise ValueError(f"no such file: {path}")
    path = path.resolve()
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    name = path.stem if path.stem not in sys.modules else f"{path.stem}__checked"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load(target: str) -> Callable[..., Any]:
    """The function ``name`` of ``module:name`` or ``file.py:name``."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise ValueError(f"function must be module:name or file.py:name, got {target!r}")
    if where.endswith(".py"):
        module = _run_file(Path(where))
    else:
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        module = importlib.import_module(where)
    if not hasattr(module, name):
        raise ValueError(f"{where} has no function {name!r}")
    return getattr(module, name)


def main(argv: list[str] | None = None) -> int:
    """Run one check; 0 when it passes, 1 with the diagnosis, 2 on a bad argument or a function
    that cannot be loaded."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.op.endswith("pool") and args.kernel_size is None:
        parser.error(f"--op {args.op} needs --kernel-size")
    options = {key: value for key, value in vars(args).items()
               if value is not None and key not in _NOT_OPTIONS}
    check = CHECKS[OPERATIONS[args.op].format(args.dims)]
    accepted = inspect.signature(check).parameters
    for key in options:
        if key not in accepted:
            parser.error(f"{_FLAGS.get(key, '--' + key.replace('_', '-'))} does not apply to "
                         f"--op {args.op}")
    try:
        fn = load(args.function)
    except (Exception, SystemExit) as exc:  # anything the module raises, sys.exit(0) too
        print(f"convproof check: cannot load {args.function}: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2
    try:
        result = check(fn, **options)
    except EquivalenceError as exc:
        print(exc)
        return 1
    except (ImportError, TypeError, ValueError) as exc:
        print(f"convproof check: {args.function}: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0
