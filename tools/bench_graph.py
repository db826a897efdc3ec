"""Benchmark `meshsim.graph.from_mesh` against PyG's `FaceToEdge` on a ~1M-triangle mesh.

Both build the edges of the same triangle mesh in the same run; `from_mesh` also sorts them by
target, computes ``edge_attr`` (displacement and norm), node types and boundary tensors. Also
times gmsh meshing of the DFG channel (`meshsim.mesh.channel_with_cylinder(h=0.01)`).

    python tools/bench_graph.py            # 707 x 707 grid: 999,698 triangles
    python tools/bench_graph.py --cells 200

Last line: JSON with from_mesh_s, face_to_edge_s, ratio (from_mesh_s / face_to_edge_s),
num_triangles, gmsh_channel_s (best-of-repeats wall times in seconds; gmsh timed once).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import skfem
import torch
from torch_geometric.data import Data
from torch_geometric.transforms import FaceToEdge

from meshsim import Mesh
from meshsim.graph import from_mesh


def best_time(function, repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def square_mesh(cells_per_side: int) -> Mesh:
    """Unit square, 2 * cells_per_side**2 triangles, boundaries inlet, outlet, walls."""
    grid = np.linspace(0.0, 1.0, cells_per_side + 1)
    sk = skfem.MeshTri1.init_tensor(grid, grid).with_boundaries({
        "inlet": lambda x: x[0] == 0.0, "outlet": lambda x: x[0] == 1.0,
        "walls": lambda x: (x[1] == 0.0) | (x[1] == 1.0)})
    return Mesh.from_skfem(sk)


def time_gmsh_channel() -> float:
    from meshsim.mesh import channel_with_cylinder

    start = time.perf_counter()
    mesh = channel_with_cylinder(h=0.01)
    seconds = time.perf_counter() - start
    print(f"gmsh channel_with_cylinder(h=0.01): {mesh.num_cells} triangles, {mesh.num_points} nodes, {seconds:.3f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=707, help="grid cells per side (2 * cells**2 triangles)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    mesh = square_mesh(args.cells)
    print(f"mesh: {mesh.num_cells} triangles, {mesh.num_points} nodes; torch threads {torch.get_num_threads()}")
    pos = torch.from_numpy(mesh.points.astype(np.float32))
    face = torch.from_numpy(mesh.cells.T.copy())
    face_to_edge = FaceToEdge(remove_faces=False)

    ours = from_mesh(mesh)
    theirs = face_to_edge(Data(pos=pos, face=face))
    assert ours.edge_index.shape == theirs.edge_index.shape, (ours.edge_index.shape, theirs.edge_index.shape)
    print(f"edges: {ours.edge_index.shape[1]} directed")

    from_mesh_s = best_time(lambda: from_mesh(mesh), args.repeats)
    face_to_edge_s = best_time(lambda: face_to_edge(Data(pos=pos, face=face)), args.repeats)
    print(f"from_mesh {from_mesh_s:.3f} s, FaceToEdge {face_to_edge_s:.3f} s (best of {args.repeats})")
    gmsh_channel_s = time_gmsh_channel()
    print(json.dumps({
        "from_mesh_s": round(from_mesh_s, 4),
        "face_to_edge_s": round(face_to_edge_s, 4),
        "ratio": round(from_mesh_s / face_to_edge_s, 3),
        "num_triangles": int(mesh.num_cells),
        "gmsh_channel_s": round(gmsh_channel_s, 3),
    }))


if __name__ == "__main__":
    main()
