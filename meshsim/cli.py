"""The ``meshsim`` command: mesh, info, demo, and the subcommands of the lower layers.

    meshsim mesh channel_with_cylinder --h 0.02 -o channel.msh --plot channel.png
    meshsim info channel.msh
    meshsim demo --out demo-out
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

CLI_FORMATS = """value formats: tuples as comma lists (--size 1,2,1); vertices "x0,y0,x1,y1,...";
holes "cx,cy,r;x0,y0,x1,y1,x2,y2" (';' between holes, 3 numbers = circle);
refine "name:h_min,dist_min,dist_max;name2:..." """

#: generators offered by ``meshsim mesh``, by name (functions of meshsim.mesh)
GENERATORS = ("interval", "rectangle", "disk", "polygon", "channel_with_cylinder", "random_domain", "box", "from_geo")


def _parse_points(text: str) -> list[list[float]]:
    """``"x0,y0,x1,y1,..."`` -> [[x0, y0], [x1, y1], ...]."""
    values = [float(v) for v in text.split(",")]
    return [values[i:i + 2] for i in range(0, len(values), 2)]


def _parse_holes(text: str) -> list:
    """``"cx,cy,r;x0,y0,x1,y1,x2,y2"``: holes separated by ``;``, each a circle (3 numbers) or a
    polygon (an even number of coordinates, at least 6)."""
    holes = []
    for part in filter(None, text.split(";")):
        values = [float(v) for v in part.split(",")]
        holes.append(tuple(values) if len(values) == 3 else _parse_points(part))
    return holes


def _parse_refine(text: str) -> dict:
    """``"cylinder:0.005,0.05,0.2;walls:..."`` -> {name: (h_min, dist_min, dist_max)}."""
    refine = {}
    for part in filter(None, text.split(";")):
        name, _, values = part.partition(":")
        refine[name] = tuple(float(v) for v in values.split(","))
    return refine


#: parsers for generator parameters whose values are not plain numbers
SPECIAL_PARSERS = {"vertices": _parse_points, "holes": _parse_holes, "refine": _parse_refine,
                   "seed": int, "path": str}


def _parse_value(text: str, default):
    """Parse a command-line value into the type of the generator parameter's default."""
    if isinstance(default, bool):
        return text.lower() in ("1", "true", "yes")
    if isinstance(default, (tuple, list)):
        return tuple(float(v) for v in text.split(","))
    if isinstance(default, int):
        return int(text)
    return float(text)


def _add_generator_parser(sub, name: str, func) -> None:
    """One ``meshsim mesh NAME`` parser whose options mirror the generator's keyword arguments."""
    doc = (inspect.getdoc(func) or "").splitlines()
    parser = sub.add_parser(name, help=doc[0] if doc else name, description=inspect.getdoc(func),
                            epilog=CLI_FORMATS, formatter_class=argparse.RawDescriptionHelpFormatter)
    for pname, param in inspect.signature(func).parameters.items():
        if param.kind not in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            continue
        parse = SPECIAL_PARSERS.get(pname, lambda text, d=param.default: _parse_value(text, d))
        if param.default is inspect.Parameter.empty:
            parser.add_argument(pname, type=parse, help=f"{pname} (required)")
        elif isinstance(param.default, (bool, int, float, str, tuple, list)) or param.default is None:
            parser.add_argument(f"--{pname}", default=param.default, metavar="VALUE", type=parse,
                                help=f"default: {param.default!r}")
    parser.add_argument("-o", "--output", help="write the mesh here (.msh, .vtu, .xdmf, ...)")
    parser.add_argument("--plot", help="save a PNG of the mesh here")
    parser.set_defaults(generator=name)


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
    from .mesh import read

    mesh = read(args.file)
    print(mesh)
    for name, facets in sorted(mesh.boundary.items()):
        print(f"  boundary {name!r}: {len(facets)} facets, {len(mesh.boundary_nodes(name))} nodes")
    for kind, data in (("point_data", mesh.point_data), ("cell_data", mesh.cell_data)):
        for name, value in sorted(data.items()):
            print(f"  {kind} {name!r}: shape {value.shape}")
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

    parser = argparse.ArgumentParser(prog="meshsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    mesh_parser = sub.add_parser("mesh", help="generate a mesh with gmsh")
    mesh_sub = mesh_parser.add_subparsers(dest="generator", required=True)
    for name in GENERATORS:
        _add_generator_parser(mesh_sub, name, getattr(mesh_pkg, name))
    mesh_parser.set_defaults(func=_cmd_mesh)

    info = sub.add_parser("info", help="print the summary of any meshio-readable mesh file")
    info.add_argument("file")
    info.set_defaults(func=_cmd_info)

    demo = sub.add_parser("demo", help="run the end-to-end demo on small defaults")
    demo.add_argument("--out", default="demo-out")
    demo.set_defaults(func=_cmd_demo)

    from .data.cli import add_commands as add_data_commands

    add_data_commands(sub, plot_mesh=_plot_mesh)
    from .train.cli import add_commands as add_train_commands

    add_train_commands(sub, animate=_animate_rollout)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``meshsim`` console script."""
    from .data.errors import DatasetError
    from .mesh import MeshError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MeshError, DatasetError, FileNotFoundError) as error:
        print(f"meshsim {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
