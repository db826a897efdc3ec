"""What every tutorial's command line shares: a budget (``--smoke``, default, ``--full``), ``--out``,
``--seed``, ``--threads``; and writing the printed table as ``results.json``."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from meshsim.threads import use_threads


def tutorial_parser(description: str, default_out: str) -> argparse.ArgumentParser:
    """Parser with the shared options; a tutorial adds its own before parsing."""
    parser = argparse.ArgumentParser(description=description)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true", help="tiny run that only checks the pipeline (seconds)")
    size.add_argument("--full", action="store_true", help="the paper's data and training budget (hours to days)")
    parser.add_argument("--out", type=Path, default=Path(default_out), help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int,
                        help="torch threads (default: OMP_NUM_THREADS if set, else 1, the fastest for these "
                             "small graphs on a shared machine)")
    return parser


def start(args: argparse.Namespace) -> str:
    """Apply ``--threads`` (`meshsim.threads.use_threads`), create ``--out``; returns the budget
    name (smoke, default or full)."""
    use_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    return "smoke" if args.smoke else "full" if args.full else "default"


def write_results(out: Path, results: dict) -> None:
    """``out/results.json``: the tutorial's table and settings."""
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
