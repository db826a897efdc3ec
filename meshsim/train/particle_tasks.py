"""GNS and GIOROM on the particle datasets of the store (``meshsim train gns|giorom``; recipes
``mpm_water``, ``mpm_sand``, ``mpm_jelly``): one-frame steps from 6 positions, rollouts evaluated by
LagrangeBench's position MSE at rollout steps 5 and 20 and over the whole rollout, at the dense
particles (GIOROM steps a sparse subset and decodes the dense particles every step).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from ..data import DatasetError, ShardReader, read_meta
from ..nn import GIOROM, GNS, ParticleStatistics
from .particle_data import ParticleLoss, ParticleTrajectory, ParticleWindows, particle_statistics
from .particle_rollout import giorom_rollout, gns_rollout, mean_metrics, rollout_mse

#: velocities in the models' input (GNS: 6 positions)
HISTORY = 5


@dataclass(frozen=True)
class ParticleSplit:
    """The trajectories of one split and the dataset's geometry: ``bounds`` (2, 2) of the walls,
    ``radius`` the default connectivity radius and ``frame_dt`` (s)."""

    trajectories: list[ParticleTrajectory]
    bounds: np.ndarray
    radius: float
    frame_dt: float


def load_particle_split(folder: str | Path, split: str, max_trajectories: int | None = None) -> ParticleSplit:
    """Every trajectory (positions float32) of a split of an ``mpm``-style dataset folder, in sample order."""
    folder = Path(folder)
    meta = read_meta(folder)
    if not meta.get("complete"):
        raise DatasetError(f"{folder}: generation has not finished; run `meshsim generate` again to resume it")
    fields = meta.get("fields", {})
    if "position" not in fields or "particle_type" not in fields or not meta.get("trajectory"):
        raise DatasetError(f"{folder}: expected a particle dataset (fields position (T, N, d) and particle_type; "
                           f"recipes mpm_water, mpm_sand, mpm_jelly); it has fields {sorted(fields)}")
    if split not in meta["counts"]:
        raise DatasetError(f"{folder}: no split {split!r} (splits: {', '.join(meta['counts'])})")
    trajectories, params = [], None
    for shard in meta["shards"]:
        if shard["split"] != split or shard["num_samples"] == 0:
            continue
        with ShardReader(folder / shard["file"]) as reader:
            for i in range(len(reader)):
                if max_trajectories is not None and len(trajectories) >= max_trajectories:
                    break
                sample = reader.sample(i, fields=["position", "particle_type"])
                trajectories.append(ParticleTrajectory(sample.fields["position"].astype(np.float32),
                                                       sample.fields["particle_type"][:, 0].astype(np.int64)))
                params = params or sample.params
    if not trajectories:
        raise DatasetError(f"{folder}: split {split!r} has no trajectories")
    bounds = np.asarray(params["bounds"], dtype=float).reshape(-1, 2)
    return ParticleSplit(trajectories, bounds, float(params["radius"]), float(params["frame_dt"]))


@dataclass(frozen=True)
class GNSSettings:
    """GNS (Sanchez-Gonzalez et al. 2020): 10 message-passing steps, latent 128, MLPs of 2 hidden
    layers; LagrangeBench's noise std 3e-4. ``radius`` 0 takes the dataset's; ``val_steps``
    rollout steps of the first validation trajectory during training."""

    latent_dim: int = 128
    num_steps: int = 10
    num_hidden_layers: int = 2
    type_embedding_dim: int = 16
    noise_std: float = 3e-4
    radius: float = 0.0
    val_steps: int = 20


@dataclass(frozen=True)
class GIOROMSettings:
    """GIOROM on ``fraction`` of the particles (farthest-point sampled): ``num_steps`` interaction
    layers before and after the neural operator, a ``grid_size``^2 latent grid of ``grid_width``
    channels, an FNO of ``fno_layers`` layers and ``fno_modes`` modes; the dense decoder trained on
    ``num_queries`` dense particles per window with ``neighbours`` sparse neighbours each."""

    fraction: float = 0.125
    latent_dim: int = 128
    num_steps: int = 2
    num_hidden_layers: int = 2
    type_embedding_dim: int = 16
    grid_size: int = 32
    grid_width: int = 32
    fno_modes: int = 12
    fno_layers: int = 4
    num_queries: int = 1024
    neighbours: int = 8
    decoder_weight: float = 1.0
    noise_std: float = 3e-4
    radius: float = 0.0
    val_steps: int = 20


class _ParticleTask:
    """What GNS and GIOROM share: data, statistics, loss, validation and evaluation; a subclass
    adds ``windows(trajectories)``, ``model()`` and ``rollout(model, trajectory, steps)``."""

    train_defaults = {"steps": 2000, "batch_size": 2, "lr": 1e-4, "lr_final": 1e-6}

    def __init__(self, folder: str | Path, settings):
        if not 0 < getattr(settings, "fraction", 1.0) <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {settings.fraction}")
        self.folder, self.settings = Path(folder), settings
        data = load_particle_split(self.folder, "train")
        self.radius = settings.radius or data.radius
        self.statistics: ParticleStatistics = particle_statistics(data.trajectories, data.bounds, self.radius)
        self.train_set = self.windows(data.trajectories)

    @property
    def fraction(self) -> float:
        return 1.0

    def loss(self) -> ParticleLoss:
        return ParticleLoss(self.settings.noise_std, getattr(self.settings, "decoder_weight", 0.0))

    def validate(self, split: str = "valid"):
        trajectory = load_particle_split(self.folder, split, max_trajectories=1).trajectories[0]
        steps = min(self.settings.val_steps, trajectory.num_frames - HISTORY - 1)

        def validate(model: nn.Module) -> dict:
            result = self.rollout(model, trajectory, steps)
            return {f"mse{steps}": rollout_mse(result.prediction, result.truth, ())["mse_full"]}
        return validate

    def evaluate(self, model: nn.Module, split: str = "test", max_trajectories: int | None = None,
                 progress: bool = False, steps: int | None = None) -> dict:
        """LagrangeBench's ``mse5``, ``mse20`` and ``mse_full`` (over the whole rollout: every frame
        after the first 6, or the first ``steps``) at the dense particles, averaged over the split's
        trajectories, ``seconds_per_step`` and ``num_trajectories``."""
        data = load_particle_split(self.folder, split, max_trajectories)
        records = []
        for trajectory in data.trajectories:
            result = self.rollout(model, trajectory, steps)
            records.append(rollout_mse(result.prediction, result.truth) | {"seconds_per_step": result.seconds_per_step})
        return mean_metrics(records) | {"num_trajectories": len(records), "fraction": self.fraction}


class GNSTask(_ParticleTask):
    """``meshsim train gns``: GNS on the dense particles."""

    name = "gns"
    Settings = GNSSettings

    def windows(self, trajectories) -> ParticleWindows:
        return ParticleWindows(trajectories, self.radius)

    def model(self) -> GNS:
        s = self.settings
        return GNS(self.statistics, latent_dim=s.latent_dim, num_steps=s.num_steps, num_hidden_layers=s.num_hidden_layers,
                   type_embedding_dim=s.type_embedding_dim, noise_std=s.noise_std)

    def rollout(self, model, trajectory: ParticleTrajectory, steps: int | None = None):
        return gns_rollout(model, trajectory.positions, trajectory.particle_type, self.radius, steps)


class GIOROMTask(_ParticleTask):
    """``meshsim train giorom --fraction F``: GIOROM on a farthest-point subset of the particles,
    evaluated at the dense particles through its dense decoder."""

    name = "giorom"
    Settings = GIOROMSettings

    @property
    def fraction(self) -> float:
        return self.settings.fraction

    def windows(self, trajectories) -> ParticleWindows:
        s = self.settings
        return ParticleWindows(trajectories, self.radius, fraction=s.fraction, num_queries=s.num_queries,
                               neighbours=s.neighbours)

    def model(self) -> GIOROM:
        s = self.settings
        return GIOROM(self.statistics, latent_dim=s.latent_dim, num_steps=s.num_steps,
                      num_hidden_layers=s.num_hidden_layers, type_embedding_dim=s.type_embedding_dim,
                      grid_size=s.grid_size, grid_width=s.grid_width, fno_modes=s.fno_modes, fno_layers=s.fno_layers,
                      noise_std=s.noise_std)

    def rollout(self, model, trajectory: ParticleTrajectory, steps: int | None = None):
        return giorom_rollout(model, trajectory.positions, trajectory.particle_type, self.radius,
                              self.settings.fraction, steps, self.settings.neighbours)
