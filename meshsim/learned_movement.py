"""Learned mesh movers (UM2N, DMM) on a `Mesh`, with the same result type as the Monge-Ampere
mover: the moved mesh and a `MovementReport` (top level: it joins movement, graph and train).

    from meshsim.learned_movement import LearnedMover
    mover = LearnedMover.shipped("um2n")          # the checkpoint trained by the tutorial
    result = mover.move(mesh, monitor)            # monitor(mesh) -> (N,) as for monge_ampere

A mesh whose monitor already equidistributes (Monge-Ampere residual of the unmoved mesh below
``rtol``) is returned unchanged with zero iterations, as the Monge-Ampere mover does. The network's
points are put back on their boundary segments in float64 and checked for tangling. A network
gives no guarantee against inverted cells, so a tangled prediction is backed off: its displacement
halved until no cell inverts (the identity map never does), at most ``max_backoff`` times; the
report counts one iteration for the prediction plus one per halving. If the mesh still tangles,
`MovementError` names the cells.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from .graph import from_mesh
from .mesh import Mesh
from .movement import MovementError, MovementResult, SlidingBoundary, check_untangled, identity_residual
from .movement.report import report_for, tangled_cells
from .train.movement_models import load_movement_model

#: checkpoints trained by tutorials/mesh_movement_helmholtz.py and shipped with meshsim
CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "tutorials" / "checkpoints"
SHIPPED_MODELS = {"um2n": CHECKPOINT_DIR / "um2n_helmholtz.pth", "dmm": CHECKPOINT_DIR / "dmm_helmholtz.pth"}


class LearnedMover:
    """A trained UM2N or DMM loaded from an exported file or a run folder (see
    `meshsim.train.movement_models.load_movement_model`)."""

    def __init__(self, source: str | Path):
        self.source = Path(source)
        self.kind, self.settings, self.model = load_movement_model(source)
        if self.kind not in ("um2n", "dmm"):
            raise MovementError(f"{source} holds a {self.kind!r} model, not UM2N or DMM")

    @classmethod
    def shipped(cls, kind: str) -> "LearnedMover":
        """The checkpoint of ``kind`` shipped next to the mesh-movement tutorial."""
        if kind not in SHIPPED_MODELS or not SHIPPED_MODELS[kind].is_file():
            raise FileNotFoundError(f"no shipped {kind} checkpoint (expected {SHIPPED_MODELS.get(kind)}); train one "
                                    f"with `meshsim train {kind}` and pass its run folder")
        return cls(SHIPPED_MODELS[kind])

    def graph(self, mesh: Mesh, monitor_values: np.ndarray, boundary: SlidingBoundary):
        """The model's input graph: the mesh, ``x = [monitor, slide]``, prepared by the task's transform."""
        x = np.column_stack([np.asarray(monitor_values, dtype=np.float64).reshape(-1), boundary.as_array()])
        data = from_mesh(mesh.with_data(point_data={}), fields={"input": x})
        if self.kind == "um2n":
            from .train.um2n_task import MovementInputs

            return MovementInputs()(data)
        from .train.dmm_task import DMMInputs

        return DMMInputs(self.settings.raster_size)(data)

    def predict(self, mesh: Mesh, monitor_values: np.ndarray, boundary: SlidingBoundary) -> np.ndarray:
        """(N, 2) float64 moved points as the network gives them, projected onto the boundary
        segments (not checked for tangling: see `untangled`)."""
        data = self.graph(mesh, monitor_values, boundary)
        if self.kind == "um2n":
            from .train.um2n_task import predict

            with torch.no_grad():
                points = predict(self.model, data)
        else:
            from .train.dmm_task import predict

            points = predict(self.model, data)
        return boundary.project(points.detach().double().numpy(), mesh.points)

    def untangled(self, mesh: Mesh, points: np.ndarray, max_backoff: int = 6) -> tuple[np.ndarray, int]:
        """``points`` with their displacement halved until no cell of ``mesh`` inverts, and the
        number of halvings; `MovementError` naming the cells if ``max_backoff`` halvings do not do
        it. Sliding nodes stay on their lines (their displacement is tangential), fixed ones put."""
        halvings = 0
        while len(tangled_cells(mesh, points)):
            if halvings == max_backoff:
                check_untangled(mesh, points, f"by {self.kind} (its displacement halved {max_backoff} times)")
            points = mesh.points + 0.5 * (points - mesh.points)
            halvings += 1
        return points, halvings

    def move(self, mesh: Mesh, monitor: Callable[[Mesh], np.ndarray], *, rtol: float = 1e-3,
             fixed_boundaries: Iterable[str] = (), max_backoff: int = 6) -> MovementResult:
        """Move ``mesh`` for ``monitor`` (evaluated on the input mesh, and on the moved one for the
        report); a tangled prediction is backed off (see the module doc). Raises `MovementError` if
        it still tangles after ``max_backoff`` halvings."""
        start = time.perf_counter()
        boundary = SlidingBoundary.of(mesh, fixed_boundaries)
        values = np.asarray(monitor(mesh), dtype=np.float64).reshape(-1)
        if identity_residual(mesh, values) < rtol:
            points, iterations = mesh.points, 0
        else:
            points, halvings = self.untangled(mesh, self.predict(mesh, values, boundary), max_backoff)
            iterations = 1 + halvings
        seconds = time.perf_counter() - start
        moved = mesh.with_points(points)
        report = report_for(self.kind, mesh, points, np.asarray(monitor(moved), dtype=np.float64).reshape(-1),
                            iterations=iterations, converged=True, seconds=seconds)
        return MovementResult(moved, report)
