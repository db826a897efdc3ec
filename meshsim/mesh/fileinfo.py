"""`describe_file`: what ``meshsim info`` prints about a mesh file."""
from __future__ import annotations

import warnings

import numpy as np

from .errors import format_ids
from .reading import read_with_report


def _times(times: np.ndarray) -> str:
    """``[t0, t1, ...]``, the first three and last two of a long series."""
    text = lambda values: ", ".join(f"{t:.6g}" for t in values)  # noqa: E731
    return f"[{text(times)}]" if len(times) <= 6 else f"[{text(times[:3])}, ..., {text(times[-2:])}]"


def describe_file(path) -> str:
    """Lines describing the mesh file ``path``: the mesh summary, what reading the file found
    (cells ordered clockwise, folded or duplicate cells, unused nodes, unnamed boundary facets,
    time steps), its boundaries and its fields. A file with folded or duplicate cells is read
    with ``repair=True`` and they are listed. Raises `MeshError` as `meshsim.mesh.read` does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report below says what the warnings would
        mesh, report = read_with_report(path, repair=True)
    lines = [repr(mesh)]
    kind = mesh.cell_type
    if len(report.folded):
        lines.append(f"  file: folded (inverted) {kind} cells {format_ids(report.folded)}, reversed here; "
                     f"meshsim.read refuses the file unless repair=True")
    if len(report.duplicate):
        lines.append(f"  file: duplicate {kind} cells {format_ids(report.duplicate)}, dropped here; "
                     f"meshsim.read refuses the file unless repair=True")
    if report.reordered:
        lines.append(f"  file: {report.reordered} {kind} cells ordered clockwise (negatively), reversed on reading")
    if report.unused_nodes:
        lines.append(f"  file: {report.unused_nodes} nodes in no {kind} (dropped)")
    if report.unnamed_facets:
        lines.append(f"  file: {report.unnamed_facets} boundary facets without a boundary name (dropped)")
    if report.times is not None:
        lines.append(f"  time series: {len(report.times)} steps, times {_times(report.times)}; the fields "
                     f"below are step {report.step} (t = {report.times[report.step]:.6g})")
    for name, facets in sorted(mesh.boundary.items()):
        lines.append(f"  boundary {name!r}: {len(facets)} facets, {len(mesh.boundary_nodes(name))} nodes")
    for kind_, data in (("point_data", mesh.point_data), ("cell_data", mesh.cell_data)):
        for name, value in sorted(data.items()):
            lines.append(f"  {kind_} {name!r}: shape {value.shape}")
    return "\n".join(lines)
