"""MP-PDE on the combined-equation datasets of the store (``meshsim train mppde``; recipes
``mppde_E1``, ``mppde_E2``, ``mppde_E3``), trained by the paper's recipe by default.

The paper's recipe (brandstetter-johannes/MP-Neural-PDE-Solvers, experiments/train.py): 20 epochs,
each 250 passes over the 2048 training trajectories in batches of 16 (32,000 steps), a random
window per trajectory and step; no pushforward in the first epoch, then one unrolled bundle drawn
from {0, 1} per step, without gradient; AdamW, lr 1e-4, weight decay 0.01, lr x 0.4 after epochs
1, 5, 10 and 15; loss the square root of the summed squared error, no gradient clipping; time and
PDE parameters in every message and update; the model of the best validation rollout kept. Here
the epochs are counted in steps (``epoch_steps``), so a shorter run is the first part of the
paper's, and ``--resume`` continues it. The paper trains in float64; ``dtype`` sets it (default
float32, twice as fast on a CPU).

Each trajectory is held whole, ``u`` (nx, T), on one grid shared by every trajectory, so a training
step gathers windows from a batch tensor and runs the model on a batched graph built once
(`meshsim.train.mppde_grid`). Evaluation rolls out from the frames [tw, 2 tw) and reports the
accumulated error over 7 and 8 bundles, beside the classical WENO5 baseline of the dataset's
protocol.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch_geometric.data import Data

from ..data.problems.mppde import DOMAIN_LENGTH
from ..nn import MPPDE
from .losses import MPPDE_REDUCTIONS, MPPDELoss
from .mppde_data import PDE_PARAMETERS, GridData, load_grid_data, rollout_errors, weno5_baseline
from .mppde_grid import GridTrajectories
from .rollouts import RolloutResult

#: the paper's epochs: 250 passes over 2048 trajectories in batches of 16
PAPER_EPOCH_STEPS = 250 * 2048 // 16
#: epochs after which the paper multiplies the learning rate by 0.4
PAPER_LR_MILESTONE_EPOCHS = (1, 5, 10, 15)
#: settings.dtype -> the dtype of parameters and data; "bfloat16": float32 ones, computed in bfloat16
DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.float32}


@dataclass(frozen=True)
class MPPDESettings:
    """Model, data and recipe settings (defaults: the paper's).

    Attributes:
        time_window, hidden_dim, num_layers: the model (25, 128, 6).
        neighbours: graph neighbours on each side (3).
        resolution: nodes of the grid trained on; 0 keeps the stored grid, else the stored data
            are coarsened by the dataset's protocol (the paper's 5-tap filter for the shipped
            recipes, stored at nx = 200: 100, 50 or 40).
        max_unroll: most pushforward bundles per step (1).
        pushforward_from_epoch: epochs trained without pushforward first (1).
        epoch_steps: steps of one of the paper's epochs (32,000); schedules are counted in them.
        loss: ``"sqrt_sum"`` (the paper's) or ``"mse"``.
        periodic: a deviation from the paper: a periodic graph (edges across the seam) with
            periodic position differences.
        dtype: ``"float32"``, ``"float64"`` (the paper's) or ``"bfloat16"`` (mixed precision:
            float32 weights, bfloat16 products under torch.autocast; a deviation, for speed).
        validation_trajectories: validation trajectories per validation (0: the whole split).
    """

    time_window: int = 25
    hidden_dim: int = 128
    num_layers: int = 6
    neighbours: int = 3
    resolution: int = 0
    max_unroll: int = 1
    pushforward_from_epoch: int = 1
    epoch_steps: int = PAPER_EPOCH_STEPS
    loss: str = "sqrt_sum"
    periodic: bool = False
    dtype: str = "float32"
    validation_trajectories: int = 0

    def __post_init__(self):
        if self.loss not in MPPDE_REDUCTIONS:
            raise ValueError(f"loss must be one of {MPPDE_REDUCTIONS}, got {self.loss!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {self.dtype!r}")
        if self.epoch_steps < 1:
            raise ValueError(f"epoch_steps must be >= 1, got {self.epoch_steps}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def deviations(self) -> list[str]:
        """How this recipe departs from the paper's (empty for the paper's own)."""
        paper = MPPDESettings()
        names = ("time_window", "hidden_dim", "num_layers", "neighbours", "max_unroll", "pushforward_from_epoch",
                 "loss", "periodic")
        precision = [f"dtype={self.dtype}"] if self.dtype == "bfloat16" else []
        return [f"{name}={getattr(self, name)}" for name in names
                if getattr(self, name) != getattr(paper, name)] + precision


def paper_schedule(settings: MPPDESettings) -> dict:
    """The TrainConfig fields of the paper's recipe besides steps, batch size and lr: AdamW with
    weight decay 0.01 (torch's fused kernel), no clipping, lr x 0.4 after epochs 1, 5, 10, 15,
    best-validation checkpoint on the rollout's accumulated error."""
    return {"optimizer": "adamw", "weight_decay": 0.01, "fused_optimizer": True, "grad_clip": None,
            "lr_milestones": tuple(e * settings.epoch_steps for e in PAPER_LR_MILESTONE_EPOCHS),
            "lr_milestone_factor": 0.4, "best_metric": "accumulated_error"}


def _scored(prefix: str, errors: dict) -> dict:
    return {f"{prefix}accumulated_error_{k}": v for k, v in errors.items() if k != "all"}


class MPPDETask:
    """``meshsim train mppde``: MP-PDE on a combined-equation dataset in ``folder``."""

    name = "mppde"
    Settings = MPPDESettings
    #: the paper's budget: 20 epochs of 32,000 steps; validation every 2,000 steps
    train_defaults = {"steps": 20 * PAPER_EPOCH_STEPS, "batch_size": 16, "lr": 1e-4, "lr_final": None,
                      "val_every": 2000}

    def __init__(self, folder: str | Path, settings: MPPDESettings = MPPDESettings()):
        self.folder, self.settings = Path(folder), settings
        self.train = self.split("train")
        self.train_set = GridTrajectories(self.train.u, self.train.params, self.train.grid)

    @staticmethod
    def train_schedule(settings: MPPDESettings) -> dict:
        """TrainConfig fields of the recipe besides those of `train_defaults` (`paper_schedule`)."""
        return paper_schedule(settings)

    def split(self, split: str, max_trajectories: int | None = None) -> GridData:
        s = self.settings
        return load_grid_data(self.folder, split, s.resolution, s.neighbours, s.periodic, max_trajectories,
                              s.torch_dtype)

    def model(self) -> MPPDE:
        s = self.settings
        model = MPPDE(s.time_window, num_params=len(PDE_PARAMETERS), dt=self.train.dt, hidden_dim=s.hidden_dim,
                      num_layers=s.num_layers, domain_length=DOMAIN_LENGTH, t_max=float(self.train.times[-1]),
                      mixed_precision=s.dtype == "bfloat16")
        return model.to(s.torch_dtype)

    def loss(self) -> MPPDELoss:
        s = self.settings
        return MPPDELoss(s.max_unroll, unroll_from_step=s.pushforward_from_epoch * s.epoch_steps, reduction=s.loss,
                         grid=self.train.grid)

    def validate(self, split: str = "valid"):
        data = self.split(split, self.settings.validation_trajectories or None)

        def validate(model: MPPDE) -> dict:
            errors = rollout_errors(model, data)[1]
            return {"accumulated_error": errors["all"], **_scored("", errors)}
        return validate

    def evaluate(self, model: MPPDE, split: str = "test", max_trajectories: int | None = None) -> dict:
        """Accumulated errors of MP-PDE and of the WENO5 baseline on the same frames, over 7 and 8
        bundles (``accumulated_error_7``, ``weno5_accumulated_error_8``, ...; ``accumulated_error``
        over every predicted frame), seconds per trajectory of each (all trajectories run as one
        batch), ``num_trajectories``, ``nx``, the ``protocol`` and the recipe's ``deviations``."""
        data = self.split(split, max_trajectories)
        began = time.perf_counter()
        errors = rollout_errors(model, data, batch_size=len(data.u))[1]
        seconds = (time.perf_counter() - began) / len(data.u)
        weno, weno_seconds = weno5_baseline(data, model.time_window)
        return {"accumulated_error": errors["all"], **_scored("", errors), **_scored("weno5_", weno),
                "s_per_trajectory": seconds, "weno5_s_per_trajectory": weno_seconds,
                "num_trajectories": len(data.u), "nx": data.nx, "protocol": data.protocol,
                "deviations": ", ".join(self.settings.deviations) or "none"}

    def example_rollout(self, model: MPPDE, split: str = "valid") -> RolloutResult:
        """Rollout of the split's first trajectory, for animations: (F, nx) frames."""
        data = self.split(split, 1)
        predicted = rollout_errors(model, data)[0][0]
        first = 2 * model.time_window
        truth = data.u[0, :, first:first + len(predicted)].T
        graph = Data(pos=data.grid.pos, edge_index=data.grid.edge_index)
        return RolloutResult(predicted, truth, graph, data.times[first:first + len(predicted)])


def export_model(model: MPPDE, settings: MPPDESettings, path: str | Path, **info) -> Path:
    """A self-contained checkpoint of a trained MP-PDE (weights, settings, dt, t_max and ``info``:
    numbers or strings such as the training steps), readable with ``weights_only=True``; see
    `load_exported_model`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "settings": dataclasses.asdict(settings), "dt": model.dt,
             "t_max": model.t_max, "info": dict(info)}
    torch.save(state, path)
    return path


def load_exported_model(path: str | Path) -> tuple[MPPDE, MPPDESettings, dict]:
    """(model in eval mode, its settings, its info) from `export_model`'s file."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    settings = MPPDESettings(**state["settings"])
    model = MPPDE(settings.time_window, num_params=len(PDE_PARAMETERS), dt=state["dt"], hidden_dim=settings.hidden_dim,
                  num_layers=settings.num_layers, domain_length=DOMAIN_LENGTH, t_max=state["t_max"],
                  mixed_precision=settings.dtype == "bfloat16").to(settings.torch_dtype)
    model.load_state_dict(state["model"])
    return model.eval(), settings, state["info"]
