"""`train`: one training loop for every model (optimiser, schedule, clipping, logging, checkpoints)."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from .batching import StepBatchSampler, step_generator
from .checkpoint import checkpoint_path, latest_checkpoint, load_checkpoint, prune_checkpoints, save_checkpoint
from .ddp import LossFunction, distributed_context, global_mean, wrap_loss
from .run_folder import RunFolder

OPTIMIZERS = ("adamw", "adam")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings of a training run (all JSON-serialisable; written to the run's config.json).

    Attributes:
        steps: optimiser updates in total (a resumed run continues up to this number).
        batch_size: samples per process per step (the global batch is batch_size x processes).
        lr: peak learning rate.
        lr_final: learning rate reached at ``steps`` by exponential decay; None keeps ``lr``.
        warmup_steps: linear warm-up from 0 to ``lr`` over these steps.
        optimizer: ``"adamw"`` or ``"adam"``.
        weight_decay: decoupled (adamw) or L2 (adam) weight decay.
        grad_clip: maximum global gradient norm; None for no clipping.
        seed: seeds the data order and the per-step generators given to the loss function.
        log_every: steps between metric records (mean loss over the interval, lr, steps/s).
        val_every: steps between validations (0: only at the end, if a validate function is given).
        checkpoint_every: steps between checkpoints (the last step is always checkpointed).
        keep_checkpoints: most recent checkpoints kept on disk.
        num_workers: DataLoader worker processes.
        progress: show a progress bar (rank 0 only).
    """

    steps: int = 1000
    batch_size: int = 1
    lr: float = 1e-4
    lr_final: float | None = None
    warmup_steps: int = 0
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    seed: int = 0
    log_every: int = 10
    val_every: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or (self.lr_final is not None and self.lr_final <= 0):
            raise ValueError(f"learning rates must be > 0, got lr={self.lr}, lr_final={self.lr_final}")

    def learning_rate(self, step: int) -> float:
        """Learning rate of update number ``step`` (1-based)."""
        rate = self.lr
        if self.lr_final is not None:
            rate *= (self.lr_final / self.lr) ** (min(step - 1, self.steps) / self.steps)
        if self.warmup_steps and step <= self.warmup_steps:
            rate *= step / self.warmup_steps
        return rate


@dataclass
class TrainResult:
    """What `train` did: the last completed ``step``, the ``losses`` of the steps this call ran
    (mean over processes), the ``validation`` records, and the ``run_dir`` (or None)."""

    step: int
    losses: list[float] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    run_dir: Path | None = None


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or Adam over the model's trainable parameters."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    kind = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return kind(parameters, lr=config.lr, weight_decay=config.weight_decay)


def _start(model, optimizer, config: TrainConfig, folder: RunFolder | None, resume: bool,
           extra_config: Mapping[str, Any], rank: int) -> int:
    """Load the latest checkpoint when resuming, write config.json; returns the first step to run - 1."""
    if folder is None:
        if resume:
            raise ValueError("resume=True needs a run_dir")
        return 0
    latest = latest_checkpoint(folder.checkpoints)
    if latest is not None and not resume:
        raise FileExistsError(f"{folder.path} already holds checkpoints ({latest.name}); pass resume=True "
                              f"to continue that run or choose another run_dir")
    start = 0
    if resume and latest is not None:
        state = load_checkpoint(latest, model, optimizer)
        saved = state.get("train_config", {})
        for key in ("seed", "batch_size"):
            if key in saved and saved[key] != getattr(config, key):
                raise ValueError(f"cannot resume {folder.path} with {key}={getattr(config, key)}: "
                                 f"it was trained with {key}={saved[key]}")
        start = int(state["step"])
    if rank == 0:
        folder.write_config({"train": dataclasses.asdict(config), **dict(extra_config)})
        folder.truncate_metrics(start)
    return start


def _validate(model: nn.Module, validate: Callable[[nn.Module], Mapping[str, float]], step: int) -> dict:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        values = dict(validate(model))
    model.train(was_training)
    return {"step": step, **{f"val/{k}": float(v) for k, v in values.items()}}


def train(model: nn.Module, loss_fn: LossFunction, dataset: Sequence, config: TrainConfig, *,
          run_dir: str | Path | None = None, validate: Callable[[nn.Module], Mapping[str, float]] | None = None,
          resume: bool = False, extra_config: Mapping[str, Any] | None = None) -> TrainResult:
    """Train ``model`` on ``dataset`` by minimising ``loss_fn(model, batch, generator)``.

    ``dataset`` is any sequence of PyG ``Data`` (or tensors) that torch_geometric's DataLoader can
    batch; ``loss_fn`` returns a scalar tensor and takes its randomness (noise, unroll lengths)
    from ``generator``, which is seeded by (seed, step, rank), so runs are reproducible and resume
    exactly. ``validate(model) -> {name: number}`` runs in eval mode without gradients every
    ``config.val_every`` steps and at the end (rank 0 only).

    Under ``torch.distributed`` (e.g. torchrun) the loss runs inside DistributedDataParallel and
    each process takes its slice of every global batch; only rank 0 writes files.

    With ``run_dir``: config.json, metrics.jsonl, checkpoints/, loss.png (see `RunFolder`);
    ``resume=True`` continues from the latest checkpoint there (model, optimiser, step; the data
    order and generators follow from the step), or starts afresh if there is none. A run_dir
    holding checkpoints without ``resume=True`` is an error, so no run is overwritten by accident.

    Raises:
        NonFiniteLossError: a NaN/Inf loss, before the parameters are updated with it; the last
            good checkpoint is kept.
    """
    rank, world_size = distributed_context()
    folder = RunFolder(run_dir) if run_dir is not None else None
    optimizer = make_optimizer(model, config)
    start = _start(model, optimizer, config, folder, resume, extra_config or {}, rank)
    writer = folder if rank == 0 else None
    result = TrainResult(step=start, run_dir=folder.path if folder else None)
    if start >= config.steps:
        return result
    module = wrap_loss(model, loss_fn)
    sampler = StepBatchSampler(len(dataset), config.batch_size, config.seed, start, config.steps - start,
                               rank, world_size)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=config.num_workers)
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress or rank != 0, unit="step")
    last_good = latest_checkpoint(folder.checkpoints) if folder else None
    interval, interval_start = [], time.perf_counter()
    model.train()
    for step, batch in enumerate(loader, start=start + 1):
        lr = config.learning_rate(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = module(batch, step_generator(config.seed, step, rank))
        loss.backward()
        value = float(global_mean(loss.detach()))
        if not math.isfinite(value):
            bar.close()
            kept = f"last good checkpoint: {last_good}" if last_good else "no checkpoint was written yet"
            raise NonFiniteLossError(f"loss is {value} at step {step}; parameters were not updated with it; "
                                     f"{kept}")
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        result.step = step
        result.losses.append(value)
        interval.append(value)
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
            elapsed = time.perf_counter() - interval_start
            record = {"step": step, "loss": sum(interval) / len(interval), "lr": lr,
                      "steps_per_s": len(interval) / max(elapsed, 1e-12)}
            bar.set_postfix(loss=f"{record['loss']:.3g}", steps_per_s=f"{record['steps_per_s']:.3g}")
            if writer:
                writer.append_metrics(record)
            interval, interval_start = [], time.perf_counter()
        if validate is not None and rank == 0 and (
                (config.val_every and step % config.val_every == 0) or step == config.steps):
            record = _validate(model, validate, step)
            result.validation.append(record)
            if writer:
                writer.append_metrics(record)
        if folder and (step % config.checkpoint_every == 0 or step == config.steps):
            if rank == 0:
                last_good = save_checkpoint(checkpoint_path(folder.checkpoints, step), model, optimizer, step,
                                            train_config=dataclasses.asdict(config), loss=value)
                prune_checkpoints(folder.checkpoints, config.keep_checkpoints)
            else:
                last_good = checkpoint_path(folder.checkpoints, step)
    bar.close()
    if writer:
        writer.plot_losses()
    return result
