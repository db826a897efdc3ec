"""The ``meshsim`` command: `main` parses the command line, sets the thread defaults
(`meshsim.threads`) before torch or gmsh load OpenMP, and turns the errors of bad input into one
line on stderr with exit status 2. The subcommands of the lower layers come from their
``add_commands`` functions.
"""
from __future__ import annotations

import argparse
import inspect
import sys
import warnings
from pathlib import Path

from . import __version__
from ._generator_options import GENERATORS, add_generator_parser
from .threads import set_openmp_environment, use_threads

DESCRIPTION = """Learning simulation on meshes and graphs: make meshes with gmsh, solve PDEs with
scikit-fem, generate sharded HDF5 datasets, and train and evaluate neural simulators."""

EXAMPLES = """examples:
  meshsim mesh channel_with_cylinder --h 0.02 -o channel.msh --plot channel.png
  meshsim info channel.msh
  meshsim generate cylinder_flow --out data/cyl --workers 2
  meshsim train mgn --data data/cyl --out runs/mgn --steps 2000 --set latent_dim=64
  meshsim evaluate runs/mgn
  meshsim demo --out demo-out

Models run with 1 torch thread unless --threads or OMP_NUM_THREADS says otherwise.
`meshsim COMMAND --help` describes each command."""

THREADS_HELP = ("torch threads (default: OMP_NUM_THREADS if set, else 1, the fastest on a shared machine "
                "for meshsim's graph sizes)")

#: errors of bad input or of a failed run that `main` prints as one line (exit status 2); MeshError
#: and DatasetError are ValueErrors
ONE_LINE_ERRORS = (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, PermissionError)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; options' help followed by their default where there is one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.default in (None, False, [], argparse.SUPPRESS)
                or "(default" in text or "%(default)" in text):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line on stderr (exit status 2); subcommand
    parsers are made with the same class, so the whole command shares it."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _cmd_mesh(args) -> int:
    from . import mesh as mesh_pkg

    func = getattr(mesh_pkg, args.generator)
    kwargs = {k: getattr(args, k) for k in inspect.signature(func).parameters if hasattr(args, k)}
    mesh = func(**kwargs)
    print(mesh)
    if args.output:
        mesh.write(args.output)
        print(f"wrote {args.output}")
    if args.plot:
        from .viz import plot_mesh

        plot_mesh(mesh, path=args.plot, title=args.generator)
        print(f"wrote {args.plot}")
    return 0


def _cmd_info(args) -> int:
    from .mesh import describe_file

    print(describe_file(args.file))
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(Path(args.out))
    return 0


def _plot_mesh(*args, **kwargs):
    """`meshsim.viz.plot_mesh`, imported only when ``meshsim inspect`` draws (for the data layer,
    which may not import viz)."""
    from .viz import plot_mesh

    return plot_mesh(*args, **kwargs)


def _animate_rollout(*args, **kwargs):
    """`meshsim.viz.animate_rollout`, imported only when ``meshsim train``/``evaluate`` draws."""
    from .viz import animate_rollout

    return animate_rollout(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from . import mesh as mesh_pkg

    parser = Parser(prog="meshsim", description=DESCRIPTION, epilog=EXAMPLES)
    parser.add_argument("--version", action="version", version=f"meshsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    mesh_parser = sub.add_parser("mesh", help="generate a mesh with gmsh",
                                 description="Generate a mesh with gmsh, print its summary, and write it "
                                             "to a file or a PNG. `meshsim mesh NAME --help` lists a "
                                             "generator's options.")
    mesh_sub = mesh_parser.add_subparsers(dest="generator", required=True, metavar="NAME")
    for name in GENERATORS:
        add_generator_parser(mesh_sub, name, getattr(mesh_pkg, name))
    mesh_parser.set_defaults(func=_cmd_mesh)

    info = sub.add_parser("info", help="print the summary of a mesh file",
                          description="Print the summary of a mesh file that meshio reads (.msh, .vtu, "
                                      ".xdmf, ...): counts, element sizes and quality, boundaries, fields.")
    info.add_argument("file", help="mesh file")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="run the end-to-end demo on small defaults",
                          description="Mesh the DFG channel, check its quality, solve Poisson on it, turn it "
                                      "into a graph, write files, generate two small datasets and train a "
                                      "small MeshGraphNet for a few seconds, all under --out.")
    demo.add_argument("--out", default="demo-out", help="output folder")
    demo.add_argument("--threads", type=int, metavar="N", help=THREADS_HELP)
    demo.set_defaults(func=_cmd_demo)

    from .data.cli import add_commands as add_data_commands

    add_data_commands(sub, plot_mesh=_plot_mesh)
    from .train.cli import add_commands as add_train_commands

    add_train_commands(sub, animate=_animate_rollout)
    from .move_cli import add_commands as add_move_commands

    add_move_commands(sub)
    return parser


def _one_line_warning(command: str):
    """A `warnings.showwarning` that prints ``meshsim COMMAND: warning: MESSAGE``."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"meshsim {command}: warning: {message}", file=file or sys.stderr)
    return show


def main(argv=None) -> int:
    """Entry point of the ``meshsim`` console script; returns the exit status (2 for bad input,
    with one line on stderr naming the problem)."""
    set_openmp_environment()  # before torch or gmsh load OpenMP
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error the parser has printed
        return stop.code if isinstance(stop.code, int) else 0
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(args.command)
        try:
            if hasattr(args, "threads"):  # the command runs models
                use_threads(args.threads)
            return args.func(args)
        except ONE_LINE_ERRORS as error:
            print(f"meshsim {args.command}: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"meshsim {args.command}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
