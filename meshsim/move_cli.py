"""``meshsim move MESH``: move a mesh's points to equidistribute a monitor (Monge-Ampere, UM2N or
DMM); `add_commands` registers it on the ``meshsim`` command's subparsers.

    meshsim move mesh.msh --monitor ring -o moved.msh --plot moved.png
    meshsim move solved.msh --monitor hessian --field u --method um2n -o moved.msh
    meshsim move solved.msh --monitor hessian --field u --method dmm --model runs/dmm
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _monitor(args, mesh):
    """``monitor(moved_mesh) -> (N,)`` from the options; a field is carried to moved points by P1
    interpolation and its derivatives recovered there (the reference's interpolated-solution monitor)."""
    import numpy as np

    from .movement import PointLocator, gradient_monitor, hessian_monitor, ring_monitor

    if args.monitor == "ring":
        return lambda moved: ring_monitor(moved, centre=args.ring_centre, radius=args.ring_radius,
                                          amplitude=args.ring_amplitude, width=args.ring_width)
    if args.field is None or args.field not in mesh.point_data:
        raise ValueError(f"--monitor {args.monitor} needs --field NAME, a point field of {args.mesh} "
                         f"(it has {sorted(mesh.point_data) or 'none'})")
    values = np.asarray(mesh.point_data[args.field], dtype=np.float64).reshape(mesh.num_points, -1)[:, 0]
    locator = PointLocator(mesh)

    def monitor(moved):
        field = values if moved is mesh else locator.interpolate(values, moved.points)
        if args.monitor == "gradient":
            return gradient_monitor(moved, field, alpha=args.alpha)
        return hessian_monitor(moved, field, alpha=args.alpha, norm=args.norm)
    return monitor


def _plot(mesh, moved, monitor, path: Path, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .viz import plot_mesh

    figure = Figure(figsize=(11, 5))
    FigureCanvasAgg(figure)
    for index, (shown, name) in enumerate(((mesh, "input mesh"), (moved, title))):
        ax = figure.add_subplot(1, 2, index + 1)
        plot_mesh(shown, field=monitor(shown), ax=ax, show_boundaries=False, title=f"{name}, coloured by the monitor")
        ax.triplot(shown.points[:, 0], shown.points[:, 1], shown.cells, color="black", linewidth=0.25)
        ax.set_aspect("equal")
    figure.tight_layout()
    figure.savefig(path, dpi=150)


def _cmd_move(args) -> int:
    from .mesh import read
    from .movement import MovementError, monge_ampere

    mesh = read(args.mesh)
    monitor = _monitor(args, mesh)
    try:
        if args.method == "ma":
            result = monge_ampere(mesh, monitor, method=args.ma_method, rtol=args.rtol, maxiter=args.maxiter,
                                  fixed_boundaries=args.fixed)
        else:
            from .learned_movement import LearnedMover

            mover = LearnedMover(args.model) if args.model else LearnedMover.shipped(args.method)
            if mover.kind != args.method:
                raise MovementError(f"--model {args.model} holds a {mover.kind} model, not {args.method}")
            result = mover.move(mesh, monitor, rtol=args.rtol, fixed_boundaries=args.fixed)
    except MovementError as error:
        print(f"meshsim move: error: {error}", file=sys.stderr)
        return 2
    print(result.mesh)
    print(result.report.summary())
    if args.output:
        result.mesh.write(args.output)
        print(f"wrote {args.output}")
    if args.plot:
        _plot(mesh, result.mesh, monitor, Path(args.plot), f"moved ({args.method})")
        print(f"wrote {args.plot}")
    return 0


def add_commands(sub) -> None:
    """Add ``move`` to the ``meshsim`` subparsers."""
    parser = sub.add_parser("move", help="move a mesh's points to follow a monitor (Monge-Ampere, UM2N, DMM)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mesh", help="2D triangle mesh file (any meshio format; fields as point data)")
    parser.add_argument("--monitor", choices=("ring", "gradient", "hessian"), default="ring",
                        help="ring: 1 + a / cosh^2(b (|x - c|^2 - r^2)); gradient: 1 + alpha |grad u|^2 / max; "
                             "hessian: 1 + alpha H:H / max (or ||H||_F with --norm frobenius)")
    parser.add_argument("--field", help="point field u of the mesh file for the gradient/hessian monitors")
    parser.add_argument("--alpha", type=float, default=5.0, help="gradient/hessian monitor amplitude")
    parser.add_argument("--norm", choices=("double_dot", "frobenius"), default="double_dot",
                        help="hessian monitor: H:H (double_dot) or ||H||_F (frobenius)")
    parser.add_argument("--ring-centre", type=_floats, default=(0.5, 0.5), metavar="X,Y", help="ring monitor: centre c")
    parser.add_argument("--ring-radius", type=float, default=0.4, help="ring monitor: radius r")
    parser.add_argument("--ring-amplitude", type=float, default=20.0, help="ring monitor: amplitude a")
    parser.add_argument("--ring-width", type=float, default=200.0, help="ring monitor: sharpness b")
    parser.add_argument("--method", choices=("ma", "um2n", "dmm"), default="ma",
                        help="ma: Monge-Ampere solve; um2n, dmm: a trained network (--model)")
    parser.add_argument("--ma-method", choices=("relaxation", "quasi_newton"), default="relaxation",
                        help="Monge-Ampere solver")
    parser.add_argument("--rtol", type=float, default=1e-8,
                        help="Monge-Ampere relative residual to stop at; the learned movers return a mesh "
                             "already below it unchanged")
    parser.add_argument("--maxiter", type=int, default=1000, help="most Monge-Ampere iterations")
    parser.add_argument("--model", help="run folder of `meshsim train um2n|dmm` or an exported .pth (default: "
                                        "the checkpoint shipped with the mesh-movement tutorial)")
    parser.add_argument("--fixed", nargs="*", default=[], metavar="NAME",
                        help="boundaries whose nodes stay put (curved boundaries must be listed)")
    parser.add_argument("-o", "--output", help="write the moved mesh here")
    parser.add_argument("--plot", help="PNG of the input and moved meshes coloured by the monitor")
    parser.set_defaults(func=_cmd_move)
