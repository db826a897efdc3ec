"""Online training (``meshsim train KIND --online RECIPE``): simulators stream samples into a bounded
reservoir and the training loop draws its batches from it; no training data touches the disk.

A task supports online training if it can turn a streamed sample into a training item
(``to_item(index, sample)``) and batch items (``collate(items)``), as `STNNTask` (a parameter
triple and its solution tensor) and `MeshGraphNetTask` (a whole trajectory; each draw takes one
of its one-step windows at random) do. The validation set stays fixed: the task's valid split
(stored, or made once from the recipe).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from ..data import DatasetError, Recipe, load_recipe
from ..data.online import OnlineFeed
from ..data.reservoir import Reservoir
from ..data.streaming import DaskSimulators, SimulatorPool, written_bytes
from .loop import TrainConfig, TrainResult, train

#: the feed's figures shown in the progress bar and logged (as data/<name>) at every log step
PROGRESS_KEYS = ("produced", "drawn", "unique_drawn", "buffer", "wait_fraction_after_full", "restarts")


@dataclass(frozen=True)
class OnlineSettings:
    """Where the samples come from and how many are held.

    Attributes:
        simulators: local simulator processes (ignored with ``scheduler``).
        scheduler: a Dask scheduler address (or ``distributed.Client``) to run the simulators on.
        buffer: the reservoir's capacity in samples.
        watermark: samples held before training starts (default: one batch, at most ``buffer``).
        first_index: the index of the recipe's train split the stream starts at.
        start_method: how local simulator processes start, ``"forkserver"`` or ``"fork"``
            (`SimulatorPool`).
    """

    simulators: int = 1
    scheduler: Any = None
    buffer: int = 2000
    watermark: int | None = None
    first_index: int = 0
    start_method: str = "forkserver"


@dataclass
class OnlineResult:
    """What online training did: the loop's `TrainResult`, the feed's final ``stats``
    (`OnlineFeed.stats`) and ``trainer_written_bytes``, the bytes the training process wrote to
    storage meanwhile (checkpoints and logs included)."""

    train: TrainResult
    stats: dict
    trainer_written_bytes: int


def check_stream_recipe(task, recipe: Recipe) -> None:
    """The streamed recipe must make the samples the task's data are made of (same problem and
    parameters); `DatasetError` otherwise."""
    if (recipe.problem, recipe.to_dict()["params"]) != (task.recipe.problem, task.recipe.to_dict()["params"]):
        raise DatasetError(f"--online {recipe.name}: its problem or parameters differ from those of the task's data "
                           f"({task.recipe.name}); stream the recipe the validation data were made with")


def open_feed(task, recipe: Recipe, settings: OnlineSettings, batch_size: int, seed: int = 0) -> OnlineFeed:
    """An (unstarted) `OnlineFeed` of ``recipe``'s train split into a reservoir, items made by ``task``."""
    if not (hasattr(task, "to_item") and hasattr(task, "collate")):
        raise ValueError(f"{type(task).__name__} cannot train online (it needs to_item and collate)")
    watermark = settings.watermark or min(settings.buffer, batch_size)
    source = (DaskSimulators(recipe, settings.scheduler, first_index=settings.first_index)
              if settings.scheduler is not None else
              SimulatorPool(recipe, settings.simulators, first_index=settings.first_index,
                            start_method=settings.start_method))
    return OnlineFeed(source, Reservoir(settings.buffer, watermark, seed=seed), task.to_item)


def train_online(model: nn.Module, task, recipe: Recipe | str | Path, config: TrainConfig,
                 settings: OnlineSettings = OnlineSettings(), *, run_dir: str | Path | None = None,
                 validate=None, resume: bool = False, extra_config: Mapping[str, Any] | None = None) -> OnlineResult:
    """Train ``model`` by `meshsim.train.train` on batches drawn from simulators of ``recipe``
    running alongside (see the module docstring). The simulators stop when training ends."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    check_stream_recipe(task, recipe)
    before = written_bytes()
    feed = open_feed(task, recipe, settings, config.batch_size, config.seed)
    summary = {"simulators": settings.simulators, "scheduler": str(settings.scheduler) if settings.scheduler else None,
               "buffer": settings.buffer, "recipe": recipe.to_dict()}
    with feed:
        result = train(model, task.loss(), (), config, run_dir=run_dir, validate=validate, resume=resume,
                       extra_config={**dict(extra_config or {}), "online": summary},
                       batches=feed.batches(config.batch_size, config.seed, task.collate),
                       data_stats=lambda: {key: feed.stats()[key] for key in PROGRESS_KEYS})
    return OnlineResult(result, feed.stats(), written_bytes() - before)


def online_summary(result: OnlineResult) -> str:
    """One line: samples produced and drawn, unique samples, buffer, waiting, restarts, bytes written."""
    s = result.stats
    return (f"online: {s['produced']} samples simulated, {s['drawn']} drawn ({s['unique_drawn']} unique), buffer "
            f"{s['buffer']}/{s['capacity']}, trainer waited {s['wait_s']:.1f} s "
            f"({100 * s['wait_fraction_after_full']:.1f}% after the buffer filled), {s['restarts']} simulator "
            f"restarts, {s['written_bytes']} bytes written by simulators, {result.trainer_written_bytes} by the "
            f"trainer")

