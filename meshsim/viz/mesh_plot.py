"""Plots of a mesh, a field on it and its named boundaries (matplotlib, no pyplot state).

One function, `plot_mesh`, draws what fits the mesh:

- line cells in 1D: the field against x (or the nodes on the x axis), boundary nodes as markers;
- triangle cells in 2D: the triangulation, or the field (``tripcolor``, Gouraud shading for
  nodal values, flat for cell values), with each named boundary as coloured lines;
- tetra cells in 3D (and triangle surfaces in 3D): the boundary surface triangles in a 3D axes,
  coloured by the field (mean over a triangle's vertices), named boundaries in their colours.

Figures are made with ``matplotlib.figure.Figure`` (Agg canvas), never shown; pass ``path``
to save a PNG.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation
from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection
from torch_geometric.data import Data

from ..graph import to_mesh
from ..mesh import Mesh, MeshError

CMAP = "viridis"


def _field_values(mesh: Mesh, field) -> np.ndarray | None:
    """(N,) nodal or (M,) cell values of ``field`` (an array or a point_data/cell_data name)."""
    if field is None:
        return None
    if isinstance(field, str):
        data = {**mesh.cell_data, **mesh.point_data}
        if field not in data:
            raise MeshError(f"no field {field!r}; the mesh has point_data {sorted(mesh.point_data)} "
                            f"and cell_data {sorted(mesh.cell_data)}")
        field = data[field]
    values = np.asarray(field, dtype=np.float64)
    if values.ndim != 1 or len(values) not in (mesh.num_points, mesh.num_cells):
        raise MeshError(f"plot_mesh needs a field of shape ({mesh.num_points},) (one value per node) "
                        f"or ({mesh.num_cells},) (per cell), got {values.shape}")
    return values


def _new_axes(mesh: Mesh) -> Axes:
    """Axes in a new figure (Agg canvas); 2D figures take the mesh's aspect ratio."""
    width, height = 6.4, 4.8
    if mesh.dim == 2:
        extent = np.ptp(mesh.points, axis=0)
        height = float(np.clip(width * extent[1] / max(extent[0], 1e-300), 2.0, 8.0)) + 1.2
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)
    return figure.add_subplot(projection="3d" if mesh.dim == 3 else None)


def _plot_line(ax: Axes, mesh: Mesh, values, show_boundaries: bool) -> None:
    x = mesh.points[:, 0]
    if values is not None and len(values) != mesh.num_points:  # per-cell values at cell midpoints
        x = mesh.points[mesh.cells, 0].mean(axis=1)
    y = np.zeros_like(x) if values is None else values
    order = np.argsort(x)
    ax.plot(x[order], y[order], "-|" if values is None else "-", color="0.3", lw=1.0)
    ax.set_xlabel("x")
    if show_boundaries and values is not None and len(values) != mesh.num_points:
        show_boundaries = False  # boundary nodes have no value to sit at
    if show_boundaries:
        for i, (name, facets) in enumerate(mesh.boundary.items()):
            nodes = np.unique(facets)
            ax.plot(mesh.points[nodes, 0], y[nodes], "o", color=f"C{i}", label=name)


def _plot_triangles(ax: Axes, mesh: Mesh, values, show_boundaries: bool) -> None:
    triangulation = Triangulation(mesh.points[:, 0], mesh.points[:, 1], mesh.cells)
    if values is None:
        ax.triplot(triangulation, color="0.6", lw=0.4)
    else:
        nodal = len(values) == mesh.num_points
        image = ax.tripcolor(triangulation, values, shading="gouraud" if nodal else "flat", cmap=CMAP)
        ax.figure.colorbar(image, ax=ax, location="bottom", pad=0.12, shrink=0.8)
    if show_boundaries:
        for i, (name, facets) in enumerate(mesh.boundary.items()):
            ax.add_collection(LineCollection(mesh.points[facets], colors=f"C{i}", linewidths=2.0, label=name))
    ax.set_aspect("equal")
    ax.autoscale_view()


def _surface_colors(mesh: Mesh, triangles: np.ndarray, values, ax: Axes):
    """Face colours of the surface ``triangles`` (T, 3): grey, or ``values`` through `CMAP`
    (nodal values averaged over each triangle's vertices), adding a colour bar."""
    if values is None:
        return "0.85"
    if len(values) == mesh.num_points:
        per_triangle = values[triangles].mean(axis=1)
    elif mesh.cell_type == "triangle":
        per_triangle = values
    else:
        raise MeshError("plot_mesh shows a tetra mesh by its surface; give a nodal field "
                        f"({mesh.num_points},), not a per-cell one")
    mappable = ScalarMappable(norm=Normalize(per_triangle.min(), per_triangle.max()), cmap=CMAP)
    ax.figure.colorbar(mappable, ax=ax, shrink=0.7)
    return mappable.to_rgba(per_triangle)


def _plot_surface(ax: Axes, mesh: Mesh, values, show_boundaries: bool) -> None:
    if getattr(ax, "name", None) != "3d":
        raise MeshError("plot_mesh draws a 3D mesh in a 3D axes; pass ax=figure.add_subplot(projection='3d')")
    triangles = mesh.cells if mesh.cell_type == "triangle" else mesh.boundary_facets
    ax.add_collection3d(Poly3DCollection(mesh.points[triangles], facecolors=_surface_colors(mesh, triangles, values, ax),
                                         edgecolors="0.4", linewidths=0.2, alpha=0.6 if values is None else 1.0))
    if show_boundaries:
        for i, (name, facets) in enumerate(mesh.boundary.items()):
            if facets.shape[1] == 3:  # faces of a tetra mesh: filled, or outlined over a field
                artist = Poly3DCollection(mesh.points[facets], facecolors="none" if values is not None else f"C{i}",
                                          edgecolors=f"C{i}", linewidths=0.8, label=name)
            else:  # edges bounding a triangle surface
                artist = Line3DCollection(mesh.points[facets], colors=f"C{i}", linewidths=2.0, label=name)
            ax.add_collection3d(artist)
    low, high = mesh.points.min(axis=0), mesh.points.max(axis=0)
    ax.set(xlim=(low[0], high[0]), ylim=(low[1], high[1]), zlim=(low[2], high[2]), xlabel="x", ylabel="y", zlabel="z")
    ax.set_box_aspect(np.maximum(high - low, 1e-3 * np.max(high - low)))


def plot_mesh(mesh: Mesh | Data, field=None, ax: Axes | None = None, path: str | Path | None = None,
              show_boundaries: bool = True, title: str | None = None) -> Axes:
    """Draw ``mesh`` (or a graph from `from_mesh`), optionally coloured by ``field``.

    Args:
        mesh: a line mesh in 1D, a triangle mesh in 2D or 3D, or a tetra mesh in 3D; a graph
            is turned into its mesh with `meshsim.graph.to_mesh`.
        field: (N,) nodal or (M,) per-cell values, or the name of a point_data/cell_data entry.
        ax: matplotlib axes to draw in (a 3D axes for 3D meshes); a new figure when None.
        path: save the figure as PNG here (150 dpi).
        show_boundaries: draw each named boundary in its own colour, named in the legend.
        title: axes title.

    Returns:
        The axes drawn in.

    Raises:
        MeshError: a field of the wrong shape or an unknown name, a 3D mesh with a 2D axes,
            or a cell type / dimension pair not listed above (e.g. lines in 2D).
    """
    if isinstance(mesh, Data):
        mesh = to_mesh(mesh, validate=False)
    values = _field_values(mesh, field)
    kind = (mesh.cell_type, mesh.dim)
    if kind not in {("line", 1), ("triangle", 2), ("triangle", 3), ("tetra", 3)}:
        raise MeshError(f"plot_mesh cannot draw {mesh.cell_type} cells in {mesh.dim}D")
    ax = _new_axes(mesh) if ax is None else ax
    {1: _plot_line, 2: _plot_triangles, 3: _plot_surface}[mesh.dim](ax, mesh, values, show_boundaries)
    if show_boundaries and mesh.boundary and ax.get_legend_handles_labels()[1]:
        if mesh.dim == 2:  # right of the plot, so it hides no boundary
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", frameon=False)
        else:
            ax.legend(loc="best", fontsize="small")
    if title is not None:
        ax.set_title(title)
    if path is not None:
        ax.figure.savefig(path, dpi=150, bbox_inches="tight")
    return ax
