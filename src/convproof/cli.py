"""convproof: prove the convolution theorem catalog, write its report, check conv code.

    convproof prove [ID ...] [--json] [--mutants] [--jobs N]
                                                       prove the catalog (or some ids)
    convproof report [ID ...] [--out DIR] [--format html|md|both]
                                                       prove and write the derivation report
    convproof kernels --list | --emit DIR | --emulate [--json]
                      | --compile [--arch sm_90] [--compiler nvcc|nvrtc]
                                                       the generated CUDA kernels
    convproof check [...]                              equivalence checks of a conv function
    convproof bench [--cpu | --gpu] [--json]           speed beside PyTorch

Progress goes to standard error, results to standard output; the exit status is 1 when a
theorem falls short of its catalog level or a mutant survives, 2 for bad arguments, 130 when
interrupted (Ctrl-C stops the proving processes too).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .catalog import CATALOG, module_name
from .progress import to_stderr


# --------------------------------------------------------------------------------------------
# Argument types of the commands: a bad value is refused (exit 2) before any work starts
# --------------------------------------------------------------------------------------------

def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
    return value


def positive(text: str) -> int:
    """An integer >= 1."""
    return _integer(text, 1)


def non_negative(text: str) -> int:
    """An integer >= 0."""
    return _integer(text, 0)


def _named(text: str) -> Path:
    """A path that names something: not empty (Path('') would be the current folder), not a
    link to nothing (it exists for no test, yet cannot be made)."""
    if not text:
        raise argparse.ArgumentTypeError("the path is empty")
    if os.path.islink(text) and not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a link to {os.readlink(text)!r}, which "
                                         "does not exist")
    return Path(text)


def writable_folder(text: str) -> Path:
    """A folder that exists or can be made, and can be written in (nothing is left made here).
    (os.path's tests, not Path's: they say False where a parent cannot be searched.)"""
    path = _named(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    nearest = next(p for p in (path, *path.absolute().parents) if os.path.exists(p))
    if not os.path.isdir(nearest):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be made: {str(nearest)!r} is a file")
    _fits_names(text, path, nearest)
    try:  # a real attempt: permission bits say yes to root, where /proc or /sys say no
        os.rmdir(tempfile.mkdtemp(prefix=".convproof-", dir=nearest))
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written: {exc.strerror} in "
                                         f"{str(nearest)!r}") from None
    return path


def writable_file(text: str) -> Path:
    """A file that can be written: not a folder, in a folder that exists and is writable."""
    path = _named(text)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder")
    folder = path.absolute().parent
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"{text!r}: the folder {str(folder)!r} does not exist")
    _fits_names(text, path, folder)
    existed = os.path.exists(path)
    if existed and not os.path.isfile(path):  # /dev/stdout, a pipe: opening it might wait
        if not os.access(path, os.W_OK):
            raise argparse.ArgumentTypeError(f"{text!r} cannot be written: no permission")
        return path
    try:  # a real attempt, as for a folder: /proc and /sys say no to root only when tried
        with open(path, "a"):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written: {exc.strerror}") from None
    if not existed:
        os.remove(path)
    return path


def _fits_names(text: str, path: Path, folder: Path) -> None:
    """Each name of ``path`` below the existing ``folder`` is one its file system takes (a
    name of 300 characters would fail only when the file or folder is made, after the work)."""
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):  # a file system that does not say: the attempt will
        return
    for part in path.absolute().relative_to(folder.absolute()).parts:
        if len(os.fsencode(part)) > longest:
            raise argparse.ArgumentTypeError(f"{text!r}: a name of {len(os.fsencode(part))} "
                                             f"bytes, longer than the {longest} its folder "
                                             "allows")


def readable_file(text: str) -> Path:
    """A file that exists and can be read."""
    path = _named(text)
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(f"{text!r} is not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be read: no permission")
    return path


def theorem_id(text: str) -> str:
    """A catalog id."""
    if text not in CATALOG:
        raise argparse.ArgumentTypeError(f"unknown theorem id {text!r} (the catalog: "
                                         f"{', '.join(CATALOG)})")
    return text


def prove_all(ids: list[str], report: Callable[[str], None] = to_stderr) -> list:
    """Prove ``ids`` in dependency order (each at most once); return their results in order."""
    from .symbolic import ProofError, dependency_order, load
    from .symbolic.proof import Evidence, Result

    results = {}
    try:
        order = dependency_order(ids)
    except ProofError as exc:
        raise SystemExit(f"convproof prove: {exc}") from None
    for count, tid in enumerate(order, start=1):
        started = time.perf_counter()
        try:
            result = load(tid).prove()
        except Exception as exc:  # a proof file that cannot load fails its theorem
            result = Result(
                tid,
                CATALOG[tid].levels,
                [Evidence("failed", "load", False, f"{type(exc).__name__}: {exc}")],
                time.perf_counter() - started,
            )
        results[tid] = result
        mark = "ok" if result.ok else "FAILED"
        report(
            f"[{count:2d}/{len(order)}] {tid:34s} {mark:6s} {', '.join(result.levels) or '-':28s} "
            f"{result.seconds:6.2f}s"
        )
    return [results[tid] for tid in ids]


def _ignore_interrupts() -> None:
    """A proving process leaves Ctrl-C to its parent, which terminates it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _summary(tid: str) -> dict:
    """Prove one id (its dependencies too, in this process) and return the JSON summary."""
    return prove_all([tid], report=lambda line: None)[0].as_json()


def _largest_first(ids: list[str]) -> list[str]:
    """The ids in the order they are handed to the processes: larger proof files first (a rough
    measure of their time), so that a long proof does not start last and run alone."""
    def size(tid: str) -> int:
        spec = importlib.util.find_spec(f"convproof.proofs.{module_name(tid)}")
        return os.path.getsize(spec.origin) if spec is not None and spec.origin else 0
    return sorted(ids, key=size, reverse=True)


def prove_summaries(
    ids: list[str], jobs: int, report: Callable[[str], None] = to_stderr
) -> list[dict]:
    """The JSON summaries of ``ids``, proved by ``jobs`` processes (theorems are independent;
    each process proves the dependencies it needs)."""
    if jobs <= 1 or len(ids) == 1:
        return [r.as_json() for r in prove_all(ids, report)]
    import multiprocessing

    summaries = {}
    context = multiprocessing.get_context("fork")
    # leaving the block terminates the workers: on Ctrl-C they stop with the parent
    with context.Pool(min(jobs, len(ids)), initializer=_ignore_interrupts) as pool:
        done = pool.imap_unordered(_summary, _largest_first(ids))
        for count, summary in enumerate(done, start=1):
            summaries[summary["id"]] = summary
            mark = "ok" if summary["ok"] else "FAILED"
            report(
                f"[{count:2d}/{len(ids)}] {summary['id']:34s} {mark:6s} "
                f"{', '.join(summary['levels']) or '-':28s} {summary['seconds']:6.2f}s"
            )
    return [summaries[tid] for tid in ids]


def _prove(args: argparse.Namespace) -> int:
    ids = list(dict.fromkeys(args.ids)) or list(CATALOG)  # each id once, in the order given
    started = time.perf_counter()
    if args.mutants:
        return _mutants(ids, args.json, started)
    summaries = prove_summaries(ids, args.jobs)
    failed = [s for s in summaries if not s["ok"]]
    if args.json:
        print(json.dumps(summaries, indent=2, ensure_ascii=False))
    else:
        for s in failed:
            print(f"{s['id']}: {s['message']}")
    to_stderr(
        f"{len(summaries) - len(failed)} of {len(summaries)} theorems at their catalog level "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 1 if failed else 0


def _mutants(ids: list[str], as_json: bool, started: float) -> int:
    from .symbolic import load

    outcomes = []
    for tid in ids:
        try:
            mutants = load(tid).mutants
        except Exception as exc:  # a proof file that cannot load: none of its mutants ran
            outcomes.append({"mutant": None, "theorem": tid, "killed": False,
                             "by": f"the proof file failed to load: {type(exc).__name__}: {exc}"})
            to_stderr(f"FAILED   {tid}: {outcomes[-1]['by']}")
            continue
        for mutant in mutants:
            outcome = mutant.run()
            outcomes.append(outcome)
            to_stderr(f"{'killed ' if outcome['killed'] else 'SURVIVED'} {tid}: {mutant.name}")
    survivors = [o for o in outcomes if not o["killed"]]
    if as_json:
        print(
            json.dumps(
                [{k: o[k] for k in ("mutant", "theorem", "killed", "by")} for o in outcomes],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for o in survivors:
            print(f"survived: {o['theorem']}: {o['mutant']}" if o["mutant"] is not None
                  else f"not run: {o['theorem']}: {o['by']}")
    to_stderr(
        f"{len(outcomes) - len(survivors)} of {len(outcomes)} mutants killed "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 1 if survivors or not outcomes else 0


# subcommands implemented by a subpackage's main(argv), which parses its own arguments
DELEGATED = {
    "report": ("convproof.report", "prove everything and write the derivation report"),
    "kernels": (
        "convproof.codegen.cli",
        "list, emit, compile or emulate the generated CUDA kernels",
    ),
    "check": ("convproof.testing.cli", "check a convolution function for equivalence"),
    "bench": ("convproof.bench", "benchmark beside PyTorch"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convproof", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prove = commands.add_parser("prove", help="prove the theorem catalog (or the given ids)")
    prove.add_argument("ids", nargs="*", metavar="ID", type=theorem_id,
                       help="catalog ids (default: all)")
    prove.add_argument("--json", action="store_true", help="print a JSON list of results")
    prove.add_argument(
        "--mutants",
        action="store_true",
        help="run the wrong statements instead: each must be refused (in one process)",
    )
    prove.add_argument(
        "--jobs",
        type=positive,
        default=os.cpu_count() or 1,
        help="processes proving in parallel (default: one per core)",
    )
    prove.set_defaults(run=_prove)
    for name, (_, text) in DELEGATED.items():
        commands.add_parser(name, help=f"{text} (see convproof {name} --help)", add_help=False)
    return parser


def _writable_text() -> None:
    """Output that the terminal's encoding lacks (Σ or ≥ under ASCII or cp1252) written as
    escapes: a diagnosis must not end in UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):  # no text stream, or a closed one
            pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    _writable_text()
    try:
        if argv and argv[0] in DELEGATED:
            status = importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
        else:
            args = build_parser().parse_args(argv)
            status = args.run(args)
        sys.stdout.flush()  # here, where a reader that left is caught, not at exit
        return status
    except KeyboardInterrupt:
        print("convproof: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (| head): no more output, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
