"""MeshGraphNet on a trajectory dataset of the store (``meshsim train mgn``, ``meshsim evaluate``).

The first target field of the dataset is the integrated state (velocity for cylinder_flow), the
other targets are predicted directly (pressure); node types whose state never changes in the
training trajectories (inflow, walls) are the prescribed ones, left out of the loss and held
during rollouts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Batch, Data
from tqdm.auto import tqdm

from ..data import DatasetError, MeshDataset, Recipe, Sample
from ..graph import NUM_NODE_TYPES
from ..nn import MeshGraphNet
from .losses import MeshGraphNetLoss
from .metrics import one_step_rmse
from .rollouts import RolloutResult, rollout


@dataclass(frozen=True)
class MeshGraphNetSettings:
    """Model and loss settings (MeshGraphNets' defaults). ``prescribed_node_types`` None: detected
    from the training data (`prescribed_node_types`)."""

    latent_dim: int = 128
    num_steps: int = 15
    num_hidden_layers: int = 2
    noise_std: float = 0.02
    prescribed_node_types: tuple[int, ...] | None = None


class StateInput:
    """PyG transform: keep the first ``field_dim`` columns of ``x`` (the state at frame t) and drop
    the other targets' columns, which the model predicts but does not read."""

    def __init__(self, field_dim: int):
        self.field_dim = field_dim

    def __call__(self, data: Data) -> Data:
        data.x = data.x[:, :self.field_dim]
        return data


@dataclass(frozen=True)
class StateLayout:
    """Which target field is the state: ``state`` its name and ``field_dim`` its channels;
    ``extra_dim`` the channels of the other targets (predicted directly)."""

    state: str
    field_dim: int
    extra_dim: int

    @classmethod
    def of(cls, folder: Path, meta: dict) -> "StateLayout":
        if not meta.get("trajectory"):
            raise DatasetError(f"{folder}: MeshGraphNet needs a trajectory dataset; this one is steady")
        if meta["inputs"]:
            raise DatasetError(f"{folder}: MeshGraphNet here reads only the state; the dataset has static "
                               f"inputs {meta['inputs']}, which it does not support yet")
        channels = [meta["fields"][name]["channels"] for name in meta["targets"]]
        return cls(meta["targets"][0], channels[0], sum(channels[1:]))


def open_split(folder: str | Path, split: str) -> tuple[MeshDataset, StateLayout]:
    """One-step windows (history 1, horizon 1) of a split with the state-only input, and the layout."""
    dataset = MeshDataset(folder, split)
    layout = StateLayout.of(Path(folder), dataset.meta)
    dataset.transform = StateInput(layout.field_dim)
    return dataset, layout


def prescribed_node_types(dataset: MeshDataset, layout: StateLayout, max_samples: int = 8) -> tuple[int, ...]:
    """Node type codes whose state is the same in every frame of the first ``max_samples``
    trajectories (to 1e-12 of the state's scale): the boundary-condition nodes."""
    varying, present = set(), set()
    for i in range(min(max_samples, dataset.num_samples)):
        item = dataset.trajectory(i)
        state, node_type = item.fields[layout.state], item.graph.node_type.numpy()
        change = np.abs(np.diff(state, axis=0)).max(axis=(0, 2))
        present.update(np.unique(node_type).tolist())
        varying.update(np.unique(node_type[change > 1e-12 * np.abs(state).max()]).tolist())
    return tuple(sorted(int(t) for t in present - varying))


def build_model(layout: StateLayout, pos_dim: int, settings: MeshGraphNetSettings) -> MeshGraphNet:
    """MeshGraphNet for a dataset layout."""
    return MeshGraphNet(layout.field_dim, NUM_NODE_TYPES, pos_dim=pos_dim, extra_output_dim=layout.extra_dim,
                        prescribed_node_types=settings.prescribed_node_types or (),
                        latent_dim=settings.latent_dim, num_steps=settings.num_steps,
                        num_hidden_layers=settings.num_hidden_layers)


def resolve_settings(dataset: MeshDataset, layout: StateLayout,
                     settings: MeshGraphNetSettings) -> MeshGraphNetSettings:
    """``settings`` with the prescribed node types filled in from the data if they were None."""
    if settings.prescribed_node_types is not None:
        return settings
    return dataclasses.replace(settings, prescribed_node_types=prescribed_node_types(dataset, layout))


def loss_function(settings: MeshGraphNetSettings) -> MeshGraphNetLoss:
    return MeshGraphNetLoss(settings.noise_std)


def rollout_trajectory(model: MeshGraphNet, dataset: MeshDataset, layout: StateLayout, i: int,
                       steps: int | None = None) -> RolloutResult:
    """Roll trajectory ``i`` out from its first frame for ``steps`` steps (all frames if None)."""
    item = dataset.trajectory(i)
    truth = torch.as_tensor(item.fields[layout.state][1:], dtype=item.graph.x.dtype)
    steps = len(truth) if steps is None else min(steps, len(truth))
    prediction = rollout(model, item.graph, steps)
    times = None if item.times is None else item.times[1:steps + 1]
    return RolloutResult(prediction, truth[:steps], item.graph, times)


def evaluate(model: MeshGraphNet, dataset: MeshDataset, layout: StateLayout, horizon: int = 50,
             max_trajectories: int | None = None, progress: bool = False) -> dict:
    """MeshGraphNets' metrics of the state over the split's trajectories, and the persistence
    baseline (the state never changes) on the same frames.

    Returns: ``one_step_rmse``, ``rollout_rmse_<h>`` (first h steps, h = min(horizon, T - 1)),
    ``rollout_rmse_full``, ``persistence_rmse_<h>``, ``persistence_rmse_full``, ``horizon`` (h),
    ``num_trajectories``, ``max_abs_prediction`` (blow-up check) and ``finite``. ``progress``
    shows progress bars of the rollouts and the one-step windows.
    """
    count = dataset.num_samples if max_trajectories is None else min(max_trajectories, dataset.num_samples)
    if count == 0:
        raise DatasetError(f"{dataset.folder}: split {dataset.split!r} has no trajectories to evaluate")
    # meshes differ between trajectories: sum squared errors and entries per trajectory
    sums = dict.fromkeys(("rollout_h", "rollout_full", "persistence_h", "persistence_full"), 0.0)
    counts = dict.fromkeys(sums, 0)
    largest, finite, h = 0.0, True, min(horizon, dataset.meta["num_steps"] - 1)
    for i in tqdm(range(count), desc="rollouts", unit="trajectory", disable=not progress):
        result = rollout_trajectory(model, dataset, layout, i)
        persistence = result.graph.x.expand_as(result.truth)
        for key, error in (("rollout_full", (result.prediction - result.truth) ** 2),
                           ("persistence_full", (persistence - result.truth) ** 2)):
            sums[key] += float(error.sum())
            counts[key] += error.numel()
        for key, predicted in (("rollout_h", result.prediction), ("persistence_h", persistence)):
            error = (predicted[:h] - result.truth[:h]) ** 2
            sums[key] += float(error.sum())
            counts[key] += error.numel()
        largest = max(largest, float(result.prediction.abs().max()))
        finite = finite and bool(torch.isfinite(result.prediction).all())
    value = {key: (sums[key] / counts[key]) ** 0.5 for key in sums}
    # the split's windows are ordered by sample: the first count * windows are these trajectories' steps
    windows = tqdm(range(count * dataset.windows), desc="one-step", unit="window", disable=not progress)
    one_step = one_step_rmse(model, (dataset[j] for j in windows))
    return {"one_step_rmse": one_step, f"rollout_rmse_{h}": value["rollout_h"],
            "rollout_rmse_full": value["rollout_full"], f"persistence_rmse_{h}": value["persistence_h"],
            "persistence_rmse_full": value["persistence_full"], "horizon": h, "num_trajectories": count,
            "max_abs_prediction": largest, "finite": finite}


def validation(dataset: MeshDataset, layout: StateLayout, trajectories: Sequence[int] = (0,)):
    """``validate(model)`` for `meshsim.train.train`: rollout RMSE over whole trajectories."""
    def validate(model: MeshGraphNet) -> dict:
        squared, entries = 0.0, 0
        for i in trajectories:
            result = rollout_trajectory(model, dataset, layout, i)
            squared += float(((result.prediction - result.truth) ** 2).sum())
            entries += result.truth.numel()
        return {"rollout_rmse": (squared / entries) ** 0.5}
    return validate


class MeshGraphNetTask:
    """``meshsim train mgn``: MeshGraphNet on the trajectory dataset in ``folder``.

    Attributes: ``settings`` (resolved), ``layout``, ``train_set`` (one-step windows).
    """

    name = "mgn"
    Settings = MeshGraphNetSettings
    train_defaults = {"steps": 2000, "batch_size": 2, "lr": 1e-4, "lr_final": 1e-5}

    def __init__(self, folder: str | Path, settings: MeshGraphNetSettings = MeshGraphNetSettings()):
        if isinstance(folder, Recipe) or not (Path(folder) / "meta.json").is_file():
            raise DatasetError(f"meshsim train mgn needs --data, a dataset folder made by `meshsim generate` "
                               f"(with --online too: its valid split validates, its recipe is streamed); got {folder}")
        self.folder = Path(folder)
        self.train_set, self.layout = open_split(self.folder, "train")
        self.settings = resolve_settings(self.train_set, self.layout, settings)
        self.pos_dim = int(self.train_set[0].pos.shape[1])
        self._window_rng: np.random.Generator | None = None

    @property
    def recipe(self) -> Recipe:
        """The recipe the data were made with (online training streams it; parsed when asked for,
        so that offline training does not need the recipe's problem)."""
        return Recipe.from_dict(self.train_set.meta["recipe"], where=f"{self.folder}/meta.json")

    def to_item(self, index: int, sample: Sample) -> tuple[int, Sample]:
        """An online training item: a streamed trajectory, whole, with only the fields the model
        reads (`collate` draws its windows)."""
        names = set(self.train_set.inputs + self.train_set.targets)
        return index, dataclasses.replace(sample, fields={n: v for n, v in sample.fields.items() if n in names})

    def collate(self, items: Sequence[tuple[int, Sample]]) -> Batch:
        """A batch of one-step windows, one drawn at random from each trajectory of ``items``, each
        built as the stored dataset builds its items (`MeshDataset.window`)."""
        data = self.train_set
        if self._window_rng is None:  # seeded by the run (meshsim train seeds torch first)
            self._window_rng = np.random.default_rng(torch.initial_seed())
        return Batch.from_data_list([
            data.window(sample, int(self._window_rng.integers(data.history - 1, len(sample.times) - data.horizon)), index)
            for index, sample in items])

    def split(self, name: str) -> MeshDataset:
        return open_split(self.folder, name)[0]

    def model(self) -> MeshGraphNet:
        return build_model(self.layout, self.pos_dim, self.settings)

    def loss(self) -> MeshGraphNetLoss:
        return loss_function(self.settings)

    def validate(self, split: str = "valid"):
        return validation(self.split(split), self.layout)

    def evaluate(self, model: MeshGraphNet, split: str = "test", max_trajectories: int | None = None,
                 progress: bool = False) -> dict:
        return evaluate(model, self.split(split), self.layout, max_trajectories=max_trajectories, progress=progress)

    def example_rollout(self, model: MeshGraphNet, split: str = "valid") -> RolloutResult:
        """Rollout of the split's first trajectory, for animations."""
        return rollout_trajectory(model, self.split(split), self.layout, 0)
