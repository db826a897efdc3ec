"""Parametric surrogates on ``heat_parametric`` (``meshsim train stnn``): the STNN, an MLP of equal
parameter count, or POD + MLP, mapping a parameter triple to the solution tensor (T - 1, ny, nx)
(the frames after t = 0, which is the same for every sample).

The task reads its data from a dataset folder (offline: the splits are read from the store, every
read checked) or from a recipe (online: `meshsim.train.online` streams the training samples;
the validation and test samples are made once, in this process, from the recipe's valid / test
seeds). Items are ``(params (P,), u (T - 1, ny, nx), index ())`` float32 / int64 tensors, the
parameters scaled to [-1, 1] over the recipe's ranges; a batch stacks them (`collate`), offline
and online alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..data import DatasetError, Recipe, Sample, ShardReader, load_recipe, read_meta
from ..data.problems.heat_parametric import PARAMETER_NAMES, outside_range_triples, solve_heat_parametric
from ..data.streaming import make_sample
from ..nn import PODMLP, STNN, ParametricMLP, count_parameters, mlp_width_for, pod_basis

MODELS = ("stnn", "mlp", "pod")
#: problems whose samples are solution tensors on one reference grid, with the parameters above
PROBLEMS = ("heat_parametric",)


@dataclass(frozen=True)
class STNNSettings:
    """Model settings. ``model``: ``stnn``; ``mlp`` (a plain MLP with ``mlp_hidden_layers`` hidden
    layers as wide as the parameter count of the STNN of these settings allows); ``pod`` (POD modes
    of the training set + an MLP for their coefficients; needs a stored training set).
    ``factorization``: ``tt`` (TT ranks all ``rank``, input modes ``in_modes``) or ``tucker`` (one
    input mode of prod(in_modes) features with rank ``rank``, the output axes rank ``rank // 2``)."""

    model: str = "stnn"
    factorization: str = "tt"
    num_experts: int = 2
    rank: int = 16
    in_modes: tuple[int, ...] = (4, 4, 4)
    hidden_dim: int = 64
    mlp_hidden_layers: int = 2
    pod_modes: int = 16


@dataclass(frozen=True)
class ParametricLayout:
    """Parameter names and ranges (for scaling to [-1, 1]) and the solution tensor's shape."""

    names: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    grid_shape: tuple[int, int, int]

    @classmethod
    def of(cls, recipe: Recipe) -> "ParametricLayout":
        if recipe.problem not in PROBLEMS:
            raise DatasetError(f"recipe {recipe.name!r} is a {recipe.problem!r} dataset; meshsim train stnn needs "
                               f"one of {', '.join(PROBLEMS)} (solution tensors on one reference grid)")
        ranges = np.array([getattr(recipe.params, name) for name in PARAMETER_NAMES], dtype=np.float64)
        return cls(PARAMETER_NAMES, ranges[:, 0], ranges[:, 1], recipe.params.grid_shape)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(T - 1, ny, nx): the frames after t = 0."""
        t, ny, nx = self.grid_shape
        return t - 1, ny, nx

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Parameters (..., P) in their physical units -> [-1, 1] over the recipe's ranges (a fixed
        parameter, low == high, maps to 0)."""
        width = np.where(self.high > self.low, self.high - self.low, 1.0)
        return 2.0 * (np.asarray(values, dtype=np.float64) - self.low) / width - 1.0

    def item(self, index: int, params: Sequence[float], u: np.ndarray) -> tuple:
        """A training item from physical parameters (P,) and u (T, N) or (T, N, 1)."""
        u = np.asarray(u)
        if u.shape[0] != self.grid_shape[0] or u[0].size != self.grid_shape[1] * self.grid_shape[2]:
            raise DatasetError(f"sample {index}: u has shape {u.shape}, expected {self.grid_shape[0]} frames of "
                               f"{self.grid_shape[1]} x {self.grid_shape[2]} nodes")
        return (torch.from_numpy(self.scale(params).astype(np.float32)),
                torch.from_numpy(u[1:].reshape(self.out_shape).astype(np.float32)), torch.tensor(int(index)))

    def sample_item(self, index: int, sample: Sample) -> tuple:
        return self.item(index, [float(sample.params[name]) for name in self.names], sample.fields["u"])


def collate(items: Sequence[tuple]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(params (B, P), u (B, T - 1, ny, nx), index (B,)) of a list of items."""
    return tuple(torch.stack(column) for column in zip(*items))


class ParametricTensors(torch.utils.data.Dataset):
    """A split held in memory as three tensors (params, u, index); item ``i`` is a tuple as `collate`
    takes."""

    def __init__(self, params: torch.Tensor, u: torch.Tensor, index: torch.Tensor):
        self.params, self.u, self.index = params, u, index

    @classmethod
    def of(cls, items: Sequence[tuple]) -> "ParametricTensors":
        return cls(*collate(items))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> tuple:
        return self.params[i], self.u[i], self.index[i]


def read_split(folder: Path, split: str, layout: ParametricLayout) -> ParametricTensors:
    """A stored split, read shard by shard (each field read whole, every sample checked)."""
    meta = read_meta(folder)
    items = []
    for record in [s for s in meta["shards"] if s["split"] == split and s["num_samples"] > 0]:
        with ShardReader(folder / record["file"]) as reader:
            u = reader.field("u")  # (P, T, 1), samples concatenated along the nodes
            ends = np.cumsum(reader.node_counts)
            for i, (start, end) in enumerate(zip(ends - reader.node_counts, ends)):
                params = [float(reader.params[name][i]) for name in layout.names]
                items.append(layout.item(int(reader.indices[i]), params, u[start:end, :, 0].T))
    if not items:
        raise DatasetError(f"{folder}: split {split!r} holds no samples")
    return ParametricTensors.of(items)


def relative_l2(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(B,) ||prediction - truth|| / ||truth|| per sample."""
    difference = (prediction - truth).flatten(1).norm(dim=1)
    return difference / truth.flatten(1).norm(dim=1).clamp_min(1e-12)


@torch.no_grad()
def errors(model: nn.Module, data: ParametricTensors, chunk: int = 256) -> dict:
    """Mean and largest relative L2 error and the MSE of ``model`` on ``data``."""
    relative, squared = [], 0.0
    for start in range(0, len(data), chunk):
        prediction = model(data.params[start:start + chunk])
        truth = data.u[start:start + chunk]
        relative.append(relative_l2(prediction, truth))
        squared += float(((prediction - truth) ** 2).sum())
    relative = torch.cat(relative)
    return {"rel_l2": float(relative.mean()), "rel_l2_max": float(relative.max()),
            "mse": squared / data.u.numel(), "num_samples": len(data)}


class MSELoss:
    """``loss(model, batch, generator)``: mean squared error of the predicted solution tensors."""

    def __call__(self, model: nn.Module, batch: tuple, generator: torch.Generator) -> torch.Tensor:
        params, u, _ = batch
        return ((model(params) - u) ** 2).mean()


class STNNTask:
    """``meshsim train stnn``: a surrogate of the parameter -> solution-tensor map.

    Args:
        source: a dataset folder (offline; its recipe and stored splits) or a recipe (a `Recipe`,
            shipped name or TOML path: online, no stored data; validation and test samples are made
            here from the recipe's seeds).
        settings: the model's.
    """

    name = "stnn"
    Settings = STNNSettings
    train_defaults = {"steps": 20000, "batch_size": 32, "lr": 1e-3, "lr_final": 1e-5}

    def __init__(self, source: str | Path | Recipe, settings: STNNSettings = STNNSettings()):
        if settings.model not in MODELS:
            raise ValueError(f"--set model={settings.model}: choose one of {', '.join(MODELS)}")
        self.settings = settings
        self.folder = None
        if isinstance(source, Recipe):
            self.recipe = source
        elif (Path(source) / "meta.json").is_file():
            self.folder = Path(source)
            self.recipe = Recipe.from_dict(read_meta(self.folder)["recipe"], where=f"{self.folder}/meta.json")
        else:
            self.recipe = load_recipe(source)
        self.layout = ParametricLayout.of(self.recipe)
        self._splits: dict[str, ParametricTensors] = {}
        self.train_set = self.split("train") if self.folder is not None else None

    def split(self, name: str) -> ParametricTensors:
        """A split: read from the store, or (recipe source) made here once from the recipe's seeds."""
        if name not in self._splits:
            if self.folder is not None:
                self._splits[name] = read_split(self.folder, name, self.layout)
            else:
                count = self.recipe.splits.get(name, 0)
                if count < 1:
                    raise DatasetError(f"recipe {self.recipe.name!r} has no {name!r} samples")
                samples = [(i, make_sample(self.recipe, name, i)) for i in range(count)]
                self._splits[name] = ParametricTensors.of(
                    [self.layout.sample_item(i, s) for i, s in samples if not isinstance(s, str)])
        return self._splits[name]

    def to_item(self, index: int, sample: Sample) -> tuple:
        """An online training item from a streamed sample."""
        return self.layout.sample_item(index, sample)

    collate = staticmethod(collate)

    def model(self) -> nn.Module:
        s, out_shape = self.settings, self.layout.out_shape
        num_params = len(self.layout.names)
        if s.model == "pod":
            if self.train_set is None:
                raise ValueError("--set model=pod needs a stored training set for its POD basis (--data)")
            mean, basis, _ = pod_basis(self.train_set.u, s.pod_modes)
            return PODMLP(num_params, mean, basis, out_shape, s.hidden_dim, s.mlp_hidden_layers)
        stnn = self._stnn(num_params, out_shape)
        if s.model == "stnn":
            return stnn
        width = mlp_width_for(count_parameters(stnn), num_params, int(np.prod(out_shape)), s.mlp_hidden_layers)
        return ParametricMLP(num_params, out_shape, width, s.mlp_hidden_layers)

    def _stnn(self, num_params: int, out_shape: tuple) -> STNN:
        s = self.settings
        if s.factorization == "tucker":
            in_modes, ranks = (int(np.prod(s.in_modes)),), (s.rank,) + (max(1, s.rank // 2),) * len(out_shape)
        else:
            in_modes, ranks = s.in_modes, s.rank
        return STNN(num_params, out_shape, in_modes=in_modes, ranks=ranks, num_experts=s.num_experts,
                    factorization=s.factorization, hidden_dim=s.hidden_dim)

    def loss(self) -> MSELoss:
        return MSELoss()

    def validate(self, split: str = "valid"):
        data = self.split(split)
        return lambda model: {k: v for k, v in errors(model, data).items() if k != "num_samples"}

    def outside_range(self, margin: float = 0.1) -> ParametricTensors:
        """Held-out triples each with one parameter ``margin`` of its range beyond it (both ends),
        the others at mid-range, solved here."""
        triples = outside_range_triples(self.recipe.params, margin)
        return ParametricTensors.of([self.layout.sample_item(-1 - i, solve_heat_parametric(self.recipe.params, *t))
                                     for i, t in enumerate(triples)])

    def evaluate(self, model: nn.Module, split: str = "test", max_trajectories: int | None = None) -> dict:
        """Relative L2 errors on a split (its first ``max_trajectories`` samples) and on the
        outside-range triples (`outside_range`), and the model's parameter count."""
        data = self.split(split)
        if max_trajectories is not None:
            data = ParametricTensors(data.params[:max_trajectories], data.u[:max_trajectories],
                                     data.index[:max_trajectories])
        model.eval()
        outside = errors(model, self.outside_range())
        return {**errors(model, data), "rel_l2_outside": outside["rel_l2"], "rel_l2_outside_max": outside["rel_l2_max"],
                "num_outside": outside["num_samples"], "parameters": count_parameters(model)}
