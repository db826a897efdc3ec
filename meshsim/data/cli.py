"""``meshsim generate``, ``meshsim inspect`` and ``meshsim verify``; `add_commands` registers them
on the ``meshsim`` command's subparsers."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from .errors import DatasetError


def _cmd_generate(args) -> int:
    from .card import card_text
    from .recipes import load_recipe
    from .runner import generate

    recipe = args.recipe if args.solver is None else load_recipe(args.recipe).with_overrides(
        params={"solver": args.solver})
    meta = generate(recipe, args.out, workers=args.workers, scheduler=args.scheduler,
                    num_samples=args.num_samples, seed=args.seed, progress=not args.quiet)
    print(card_text(args.out, meta))
    return 0


def _cmd_inspect(args, plot_mesh: Callable | None) -> int:
    from .card import card_text, write_sample_pngs
    from .store import read_meta

    meta = read_meta(Path(args.dir))
    if not meta.get("complete"):
        raise DatasetError(f"{args.dir}: generation has not finished; run `meshsim generate` again to resume")
    print(card_text(args.dir, meta))
    if args.num_plots and plot_mesh is not None:
        out = Path(args.plots or Path(args.dir) / "plots")
        for path in write_sample_pngs(args.dir, meta, out, plot_mesh, count=args.num_plots):
            print(f"wrote {path}")
    return 0


def _cmd_verify(args) -> int:
    from .verify import verify

    problems = verify(args.dir)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{args.dir}: {len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"{args.dir}: every shard matches its checksum and the schema")
    return 0


def _run(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``handler`` with `DatasetError` printed as a one-line error and exit status 2."""
    def run(args) -> int:
        try:
            return handler(args)
        except DatasetError as error:
            print(f"meshsim {args.command}: error: {error}", file=sys.stderr)
            return 2
    return run


def add_commands(subparsers, plot_mesh: Callable | None = None) -> None:
    """Add ``generate``, ``inspect`` and ``verify`` to an argparse subparsers object (one made
    with ``dest="command"``). ``plot_mesh(mesh, field=, path=, title=)`` draws the PNGs of
    ``inspect`` (the data layer cannot import meshsim.viz); without it no PNGs are written."""
    gen = subparsers.add_parser("generate", help="generate (or resume) a dataset from a recipe",
                                description="Generate a dataset from a recipe into a folder of HDF5 shards; "
                                            "re-running on the same folder resumes.")
    gen.add_argument("recipe", help="recipe TOML file or the name of a shipped recipe (datasets/*.toml)")
    gen.add_argument("--out", required=True, help="dataset folder")
    gen.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    gen.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) instead of local workers")
    gen.add_argument("--num-samples", type=int, help="total samples, shared out in the recipe's split proportions")
    gen.add_argument("--seed", type=int, help="base seed (default: the recipe's)")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.add_argument("--solver", help="linear solver of darcy/poisson/heat recipes: auto, direct, amg, recycle "
                                      "(GCRO-DR in SKR order) or bandit_sor (default: the recipe's)")
    gen.set_defaults(func=_run(_cmd_generate))

    inspect = subparsers.add_parser("inspect", help="print a dataset's card and plot a few samples")
    inspect.add_argument("dir", help="dataset folder")
    inspect.add_argument("--plots", help="folder for the PNGs (default DIR/plots)")
    inspect.add_argument("--num-plots", type=int, default=3, help="samples to plot (default 3, 0 for none)")
    inspect.set_defaults(func=_run(lambda args: _cmd_inspect(args, plot_mesh)))

    verify = subparsers.add_parser("verify", help="check every shard's checksum and schema")
    verify.add_argument("dir", help="dataset folder")
    verify.set_defaults(func=_run(_cmd_verify))
