"""The ``csbench`` command: the parser of every command family (csbench.cli.measure,
history, guard, observe), the checkout lock for the heavy commands, stop signals, and one
line for bad input."""

from __future__ import annotations

import argparse
import os
import sys

from csbench.cli import guard, history, lock, measure, observe
from csbench.cli.argtypes import Parser
from csbench.measure import procs
from csbench.measure.errors import UsageError

FAMILIES = (measure, history, guard, observe)
PASSTHROUGH = ("run", "asv")  # their unknown arguments go to asv
# Commands that share .asv/env and fixed-name files: one at a time per checkout (cli.lock).
HEAVY = ("run", "ci", "calibrate", "power", "builds", "triage", "publish", "merge")
ASV_HEAVY = (["run"], ["continuous"], ["dev"])


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="csbench", description="Collection Store benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    handlers = {}
    for family in FAMILIES:
        handlers.update(family.register(sub))
    for name in HEAVY:
        sub.choices[name].add_argument(
            "--wait", action="store_true",
            help="if another heavy command (run, ci, calibrate, ...) holds this checkout, wait",
        )  # fmt: skip
    parser.set_defaults(handlers=handlers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command; SIGINT, SIGTERM or SIGHUP stop its child processes (Bun drivers, asv),
    remove its temporary directories and print one line (exit 128 + the signal number)."""
    with procs.stop_signals():
        try:
            procs.sweep()  # temporary directories of csbench processes that were killed
            return _main(argv)
        except (procs.Interrupted, KeyboardInterrupt) as exc:
            words = [w for w in (sys.argv[1:] if argv is None else argv) if w[:1] != "-"]
            return procs.interrupted(exc, " ".join(["csbench", *words[:1]]))
        except BrokenPipeError:  # the reader went away (`csbench targets | head`): say nothing
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


def _main(argv: list[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    try:
        if args.command not in HEAVY and not (args.command == "asv" and rest[:1] in ASV_HEAVY):
            return _dispatch(args, rest)
        words = ["csbench", *(argv if argv is not None else sys.argv[1:])]
        with lock.checkout_lock(" ".join(words), getattr(args, "wait", False)):
            return _dispatch(args, rest)
    except UsageError as exc:
        print(f"csbench {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _dispatch(args: argparse.Namespace, rest: list[str]) -> int:
    if rest and args.command not in PASSTHROUGH:
        build_parser().error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    return args.handlers[args.command](args)
