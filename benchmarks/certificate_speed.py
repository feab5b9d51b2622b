"""The banded-matrix certificate against the naive SymPy route, measured in one run.

Naive route: the n x n correlation (3 x 3 kernel, zero padding 1) written as SymPy expressions,
its Jacobian with respect to the n² input symbols, every entry expanded, compared with the
banded matrix.  Its cost grows as n⁴ (n² outputs times n² inputs) for large n.  The certificate
evaluates the theorem's claim y = A x exactly with sparse integer arithmetic
(convproof.symbolic.certify).

    python benchmarks/certificate_speed.py [--sizes 8 16 24 32] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date

import numpy as np
import sympy

from convproof import ConvSpec
from convproof.symbolic import certify, conv_matrix


def naive_matrix(n: int) -> sympy.Matrix:
    """The Jacobian of the symbolic correlation, every entry expanded."""
    x = sympy.Matrix(n, n, lambda a, b: sympy.Symbol(f"x[{a},{b}]"))
    w = sympy.Matrix(3, 3, lambda a, b: sympy.Symbol(f"w[0,0,{a},{b}]"))
    outputs = []
    for i in range(n):
        for j in range(n):
            outputs.append(
                sum(
                    w[a, b] * x[i + a - 1, j + b - 1]
                    for a in range(3)
                    for b in range(3)
                    if 0 <= i + a - 1 < n and 0 <= j + b - 1 < n
                )
            )
    return sympy.Matrix(outputs).jacobian(list(x)).applyfunc(sympy.expand)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 24, 32])
    parser.add_argument("--target", type=int, default=64)
    parser.add_argument("--out", help="write the markdown table to this file")
    args = parser.parse_args(argv)
    spec = ConvSpec(1, 1, (3, 3), padding=1)
    rows, naive_times = [], []
    for n in args.sizes:
        naive, naive_seconds = timed(naive_matrix, n)
        banded, _ = conv_matrix(spec, (1, n, n))
        assert naive == banded.subs({s: s for s in banded.free_symbols}), "the two routes disagree"
        certificate, _ = timed(certify, "banded-matrix", spec, (1, n, n))
        assert certificate.ok, certificate.message
        naive_times.append(naive_seconds)
        rows.append((n, naive_seconds, certificate.seconds, naive_seconds / certificate.seconds))
        print(
            f"n={n:3d}  naive {naive_seconds:8.2f}s  certificate {certificate.seconds:6.3f}s",
            file=sys.stderr,
        )
    # the power law through the two largest sizes (the cost model is n^4 for large n)
    exponent, c = np.polyfit(np.log(args.sizes[-2:]), np.log(naive_times[-2:]), 1)
    predicted = float(np.exp(c) * args.target**exponent)
    target = certify("banded-matrix", spec, (1, args.target, args.target))
    command = "python benchmarks/certificate_speed.py " + " ".join(argv or sys.argv[1:])
    lines = [
        f"# Banded-matrix certificate against the naive SymPy route ({date.today()})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SymPy {sympy.__version__}; "
        f"load average {os.getloadavg()[0]:.2f}.",
        f"Command: `{command.strip()}`",
        "",
        "| n x n | naive (Jacobian + expand) | certificate | ratio |",
        "|---:|---:|---:|---:|",
        *[f"| {n} | {a:.2f} s | {b:.3f} s | {a / b:.0f}x |" for n, a, b, _ in rows],
        f"| {args.target} | {predicted:.0f} s (fit n^{exponent:.2f}, not run) | "
        f"{target.seconds:.3f} s | {predicted / target.seconds:.0f}x |",
        "",
        "The naive time at the target size is extrapolated from the two largest measured sizes "
        f"with their fitted power law n^{exponent:.2f} (the cost model is n^4); the certificate "
        "is measured. The ratios at the measured sizes are measured on both sides.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(table + "\n")
    return 0 if target.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
