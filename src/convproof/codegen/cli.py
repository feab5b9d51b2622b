"""``convproof kernels``: list, emit, compile or emulate the standard kernel set.

    convproof kernels --list                  the kernel names, one per line
    convproof kernels --emit DIR              one <name>.cu per kernel into DIR
    convproof kernels --compile [--arch sm_90] [--compiler nvcc|nvrtc]
                                              compile every kernel and its 64-bit form
                                              (no GPU needed): with nvcc, or with NVRTC
                                              through CuPy as at run time
    convproof kernels --emulate [--json] [--seed S]
                                              run every kernel on the CPU (the exact source,
                                              compiled with the C++ compiler) on fresh random
                                              inputs against the float64 reference

--emulate prints one line per kernel (or a JSON list of {"kernel", "ok", "max_rel_err"}) and
exits with status 1 if any kernel fails; --compile exits with status 1 if the compiler refuses
one or is not available.  An option given with an action it does not go with (--json with
--list) is a usage error (status 2).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
from pathlib import Path

import numpy as np

from ..gpu import standard
from ..gpu.emulate import EmulatorUnavailable
from ..cli import non_negative, writable_folder
from .compile import ARCH, COMPILERS, CompileError, compile_check


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convproof kernels",
                                     description=__doc__.split("\n")[0].replace("``", ""))
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list the standard kernels")
    action.add_argument("--emit", metavar="DIR", type=writable_folder,
                        help="write one .cu file per kernel into DIR")
    action.add_argument("--compile", action="store_true",
                        help="compile every kernel (no GPU needed)")
    action.add_argument("--emulate", action="store_true",
                        help="run every kernel under CPU emulation against the reference")
    parser.add_argument("--json", action="store_true", help="with --emulate: print JSON")
    parser.add_argument("--seed", type=non_negative, default=None,
                        help="with --emulate: input seed")
    parser.add_argument("--arch", type=_architecture,
                        help=f"with --compile: sm_NN or compute_NN (default {ARCH})")
    parser.add_argument("--compiler", choices=COMPILERS,
                        help="with --compile: nvcc (default) or nvrtc (CuPy's, as at run time)")
    return parser


def _architecture(text: str) -> str:
    """A GPU architecture as nvcc and NVRTC name it: sm_90, sm_90a, compute_90."""
    if not re.fullmatch(r"(sm|compute)_\d+[a-z]?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is no GPU architecture (sm_90, compute_90)")
    return text


_BELONGS = {"json": "emulate", "seed": "emulate", "arch": "compile", "compiler": "compile"}
"""The action each option goes with."""


def _misplaced(args: argparse.Namespace) -> str | None:
    """The first option given with an action it does not go with, as a usage message."""
    for option, action in _BELONGS.items():
        if getattr(args, option) not in (None, False) and not getattr(args, action):
            return f"--{option} goes with --{action}"
    return None


def _emit(folder: Path) -> int:
    kernels = standard.standard_kernels()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for kernel in kernels:
            (folder / f"{kernel.name}.cu").write_text(kernel.source)
    except OSError as exc:
        print(f"convproof kernels --emit: cannot write {exc.filename}: {exc.strerror}",
              file=sys.stderr)
        return 2
    print(f"wrote {len(kernels)} kernels to {folder}", file=sys.stderr)
    return 0


def _compile(arch: str, compiler: str) -> int:
    both = standard.standard_kernels() + standard.standard_kernels(index32=False)
    kernels = list({kernel.name: kernel for kernel in both}.values())  # padding has one width
    try:
        compile_check(kernels, arch, compiler=compiler)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(kernels)} kernels compiled for {arch} with {compiler}", file=sys.stderr)
    return 0


def emulate_all(seed: int) -> list[standard.Outcome]:
    """Every standard case under CPU emulation, inputs drawn from ``seed``."""
    from ..gpu.emulate import Emulator

    emulator = Emulator()
    cases = standard.standard_cases()
    emulator.prepare(kernel for case in cases for kernel in standard.kernels_of(case))
    rng = np.random.default_rng(seed)
    return [standard.check(case, emulator, rng) for case in cases]


def _emulate(as_json: bool, seed: int | None) -> int:
    seed = secrets.randbits(32) if seed is None else seed
    try:
        outcomes = emulate_all(seed)
    except EmulatorUnavailable as exc:
        print(f"convproof kernels --emulate: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps([o.as_json() for o in outcomes], indent=2))
    else:
        for o in outcomes:
            print(f"{'ok    ' if o.ok else 'FAILED'} {o.max_rel_err:9.2e}  {o.kernel}")
    failed = sum(not o.ok for o in outcomes)
    kernels = len({name for o in outcomes for name in o.kernel.split(" + ")})
    print(f"{len(outcomes) - failed} of {len(outcomes)} cases ({kernels} kernels) match the "
          f"reference under emulation (seed {seed})", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``convproof kernels``: parse ``argv`` (sys.argv[1:] by default), emit or compile the
    kernels asked for; the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # ``convproof kernels -- --list``: the separator is not an option
        argv = argv[1:]
    parser = _parser()
    args = parser.parse_args(argv)
    if (problem := _misplaced(args)) is not None:
        parser.error(problem)
    if args.list:
        print("\n".join(kernel.name for kernel in standard.standard_kernels()))
        return 0
    if args.emit:
        return _emit(args.emit)
    if args.compile:
        return _compile(args.arch or ARCH, args.compiler or "nvcc")
    return _emulate(args.json, args.seed)


__all__ = ["emulate_all", "main"]
