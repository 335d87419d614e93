"""Command line: ``python -m fastgrad {demo,bench}``."""
from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = ("usage: python -m fastgrad {demo,bench} [options]\n"
             "  demo   minimize the worked examples with several methods, print a table,\n"
             "         write a contour plot (needs matplotlib)\n"
             "  bench  time fastgrad against NumPy (and torch) on this machine")
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        from fastgrad.benchmark import main as bench_main
        return bench_main(rest)
    if command == "demo":
        from fastgrad.demo import main as demo_main
        return demo_main(rest)
    print(f"unknown command {command!r}\n{usage}", file=sys.stderr)
    return 2


def _run() -> int:
    """main() for the console script: a reader that stops early (``| head``)
    ends the output quietly instead of with a BrokenPipeError traceback."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(_run())
