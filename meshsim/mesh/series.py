"""XDMF time series: `write_xdmf_series`, and the raw reading that `meshsim.mesh.read` and
`meshsim.mesh.read_xdmf_series` build on (`is_xdmf_series`, `read_series`).

A time series is one .xdmf file (a temporal collection of grids on one mesh) with its data in
an .h5 file beside it, as meshio's TimeSeriesWriter writes it; ParaView opens it as one dataset
with a time axis. ``meshio.read`` cannot read it (it reads single grids): write a single state
with `meshsim.mesh.write` (plain XDMF) instead.
"""
from __future__ import annotations

import contextlib
import io
import os
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping

import meshio
import numpy as np

from .errors import MeshError
from .mesh import Mesh


@contextmanager
def quiet_meshio():
    """Capture what meshio prints (progress lines, "Error:" / "Warning:" lines on stderr); yields
    the buffer, whose text callers may put into their own error message."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        yield buffer


@contextmanager
def _working_directory(path: Path):
    """Run the block in ``path`` (process-wide: not for use from several threads at once)."""
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def write_xdmf_series(path, mesh: Mesh, times, point_fields: Mapping[str, np.ndarray]) -> None:
    """Write point fields over time as an XDMF time series (``path`` .xdmf, its .h5 beside it).

    Args:
        path: the .xdmf file; the data goes to ``path.with_suffix(".h5")``.
        mesh: the (fixed) mesh; its points and cells are written once, its boundaries and
            own data are not (`write` the mesh for those).
        times: (T,) time of each step.
        point_fields: name -> (T, N) or (T, N, c) values at the nodes.
    """
    path = Path(path).resolve()
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or not np.isfinite(times).all():
        raise MeshError(f"{path}: times must be a finite (T,) array, got shape {times.shape}")
    fields = {name: np.asarray(value) for name, value in point_fields.items()}
    for name, value in fields.items():
        if value.ndim not in (2, 3) or value.shape[:2] != (len(times), mesh.num_points):
            raise MeshError(f"{path}: point field {name!r} has shape {value.shape}; expected "
                            f"({len(times)}, {mesh.num_points}) or ({len(times)}, {mesh.num_points}, c)")
    points = np.zeros((mesh.num_points, 3))
    points[:, :mesh.dim] = mesh.points
    # meshio's TimeSeriesWriter puts the .h5 in the working directory, so write from path's folder
    with _working_directory(path.parent), meshio.xdmf.TimeSeriesWriter(path.name) as writer:
        writer.write_points_cells(points, [(mesh.cell_type, np.array(mesh.cells))])
        for step, time in enumerate(times):
            writer.write_data(time, point_data={name: value[step] for name, value in fields.items()})


def is_xdmf_series(path) -> bool:
    """Whether ``path`` is an .xdmf / .xmf file holding a temporal collection of grids."""
    path = Path(path)
    if path.suffix.lower() not in (".xdmf", ".xmf"):
        return False
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return False
    return any(grid.get("CollectionType") == "Temporal" for grid in root.iter("Grid"))


def read_series(path) -> tuple[np.ndarray, list, np.ndarray, list[tuple[dict, dict]]]:
    """(points (P, 3), meshio cell blocks, times (T,), [(point_data, cell_data) of each step])
    of an XDMF time series; `MeshError` naming the file if meshio cannot read it."""
    try:
        with quiet_meshio() as said, meshio.xdmf.TimeSeriesReader(path) as reader:
            points, cells = reader.read_points_cells()
            steps = [reader.read_data(step) for step in range(reader.num_steps)]
    except (Exception, SystemExit) as err:  # meshio raises many types
        detail = " ".join(said.getvalue().split())
        raise MeshError(f"{path}: meshio cannot read this XDMF time series ({type(err).__name__}: {err}"
                        f"{'; ' + detail if detail else ''})") from err
    times = np.array([time for time, _, _ in steps], dtype=np.float64)
    return np.asarray(points), cells, times, [(dict(pd), dict(cd)) for _, pd, cd in steps]
