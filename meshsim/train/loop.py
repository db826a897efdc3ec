"""`train`: one training loop for every model (optimiser, schedule, clipping, logging, checkpoints)."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import nn
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from .batching import StepBatchSampler, step_generator
from .best import BestCheckpoint
from .checkpoint import checkpoint_path, latest_checkpoint, load_latest_checkpoint, prune_checkpoints, save_checkpoint
from .ddp import LossFunction, distributed_context, global_mean, wrap_loss
from .run_folder import RunFolder

OPTIMIZERS = ("adamw", "adam", "soap")
#: SOAP preconditions tensor dimensions up to this size (larger ones: identity, i.e. Adam along them)
SOAP_MAX_PRECONDITION_DIM = 1024


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
        lr_milestones: steps after which the learning rate is multiplied by ``lr_milestone_factor``
            (a stepwise schedule, torch's MultiStepLR counted in steps): update ``step`` runs at
            ``lr * factor ** (number of milestones < step)``.
        lr_milestone_factor: the factor of each milestone.
        warmup_steps: linear warm-up from 0 to ``lr`` over these steps.
        optimizer: ``"adamw"``, ``"adam"`` or ``"soap"`` (SOAP: Adam in the eigenbasis of Shampoo's
            preconditioner, Vyas et al. 2024; pytorch-optimizer's implementation, betas (0.95, 0.95),
            eigenbasis updated every 10 steps, dimensions above `SOAP_MAX_PRECONDITION_DIM` not
            preconditioned).
        weight_decay: decoupled (adamw) or L2 (adam) weight decay.
        fused_optimizer: use torch's fused Adam/AdamW kernel (one pass over all parameters; the
            same update up to rounding; 5.5 -> 1.2 ms per step for MP-PDE's 0.6M parameters on one
            CPU thread).
        grad_clip: maximum global gradient norm; None for no clipping.
        seed: seeds the data order and the per-step generators given to the loss function.
        log_every: steps between metric records (mean loss over the interval, lr, steps/s).
        val_every: steps between validations (0: only at the end, if a validate function is given).
        best_metric: a validation metric to minimise (a key of the validate function's result);
            each validation that lowers it writes the model to ``checkpoints/best.pt`` (see
            `meshsim.train.best`); None keeps no best checkpoint. Needs a run_dir and validate.
        checkpoint_every: steps between checkpoints (the last step is always checkpointed).
        keep_checkpoints: most recent checkpoints kept on disk.
        num_workers: DataLoader worker processes.
        progress: show a progress bar (rank 0 only).
        max_seconds: stop after this many seconds of training in this call, at the step reached
            (validated and checkpointed as the last one); None: run all ``steps``.
    """

    steps: int = 1000
    batch_size: int = 1
    lr: float = 1e-4
    lr_final: float | None = None
    lr_milestones: tuple[int, ...] = ()
    lr_milestone_factor: float = 0.1
    warmup_steps: int = 0
    optimizer: str = "adamw"
    weight_decay: float = 0.0
    fused_optimizer: bool = False
    grad_clip: float | None = 1.0
    seed: int = 0
    log_every: int = 10
    val_every: int = 0
    best_metric: str | None = None
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    num_workers: int = 0
    progress: bool = True
    max_seconds: float | None = None

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or (self.lr_final is not None and self.lr_final <= 0):
            raise ValueError(f"learning rates must be > 0, got lr={self.lr}, lr_final={self.lr_final}")
        if any(m < 1 for m in self.lr_milestones) or not self.lr_milestone_factor > 0:
            raise ValueError(f"lr_milestones must be steps >= 1 and lr_milestone_factor > 0, got "
                             f"{list(self.lr_milestones)} and {self.lr_milestone_factor}")
        object.__setattr__(self, "lr_milestones", tuple(sorted(int(m) for m in self.lr_milestones)))

    def learning_rate(self, step: int) -> float:
        """Learning rate of update number ``step`` (1-based)."""
        rate = self.lr
        if self.lr_final is not None:
            rate *= (self.lr_final / self.lr) ** (min(step - 1, self.steps) / self.steps)
        rate *= self.lr_milestone_factor ** sum(milestone < step for milestone in self.lr_milestones)
        if self.warmup_steps and step <= self.warmup_steps:
            rate *= step / self.warmup_steps
        return rate


@dataclass
class TrainResult:
    """What `train` did: the last completed ``step``, the ``losses`` of the steps this call ran
    (mean over processes), the ``validation`` records, the ``run_dir`` (or None), and with
    ``best_metric`` the ``best`` validation so far: ``{"step", "value", "path"}`` (or None)."""

    step: int
    losses: list[float] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    run_dir: Path | None = None
    best: dict | None = None


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, Adam or SOAP over the model's trainable parameters."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "soap":
        try:
            from pytorch_optimizer import SOAP
        except ImportError:
            raise ValueError("optimizer 'soap' needs the pytorch-optimizer package: "
                             "pip install 'meshsim[soap]' (or pytorch-optimizer)") from None
        return SOAP(parameters, lr=config.lr, weight_decay=config.weight_decay,
                    max_precondition_dim=SOAP_MAX_PRECONDITION_DIM)
    kind = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return kind(parameters, lr=config.lr, weight_decay=config.weight_decay, fused=config.fused_optimizer or None)


def _start(model, optimizer, config: TrainConfig, folder: RunFolder | None, resume: bool,
           extra_config: Mapping[str, Any], rank: int) -> tuple[int, Path | None]:
    """Load the latest intact checkpoint when resuming, write config.json; returns the last step
    done (0 for a new run) and the checkpoint loaded (or None)."""
    if folder is None:
        if resume:
            raise ValueError("resume=True needs a run_dir")
        return 0, None
    latest = latest_checkpoint(folder.checkpoints)
    if latest is not None and not resume:
        raise FileExistsError(f"{folder.path} already holds checkpoints ({latest.name}); pass resume=True "
                              f"to continue that run or choose another run_dir")
    loaded = load_latest_checkpoint(folder.checkpoints, model, optimizer) if resume else None
    start = 0
    if loaded is not None:
        state = loaded[1]
        saved = state.get("train_config", {})
        for key in ("seed", "batch_size"):
            if key in saved and saved[key] != getattr(config, key):
                raise ValueError(f"cannot resume {folder.path} with {key}={getattr(config, key)}: "
                                 f"it was trained with {key}={saved[key]}")
        start = int(state["step"])
        if config.steps < start:
            raise ValueError(f"cannot resume {folder.path} at step {start} with steps={config.steps}: steps "
                             f"counts every step of the run, so it cannot be below the step reached")
    if rank == 0:
        folder.write_config({"train": dataclasses.asdict(config), **dict(extra_config)})
        folder.truncate_metrics(start)
    return start, None if loaded is None else loaded[0]


def _best_tracker(config: TrainConfig, folder: RunFolder | None, validate, rank: int) -> BestCheckpoint | None:
    if config.best_metric is None or rank != 0:
        return None
    if folder is None or validate is None:
        raise ValueError(f"best_metric={config.best_metric!r} needs a run_dir and a validate function")
    return BestCheckpoint(folder.checkpoints, config.best_metric)


def _best_record(best: BestCheckpoint | None) -> dict | None:
    if best is None or best.step is None:
        return None
    return {"step": best.step, "value": best.value, "path": best.path}


def _validate(model: nn.Module, validate: Callable[[nn.Module], Mapping[str, float]], step: int) -> dict:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        values = dict(validate(model))
    model.train(was_training)
    return {"step": step, **{f"val/{k}": float(v) for k, v in values.items()}}


def train(model: nn.Module, loss_fn: LossFunction, dataset: Sequence, config: TrainConfig, *,
          run_dir: str | Path | None = None, validate: Callable[[nn.Module], Mapping[str, float]] | None = None,
          resume: bool = False, extra_config: Mapping[str, Any] | None = None,
          batches: Iterable | None = None, data_stats: Callable[[], Mapping[str, float]] | None = None
          ) -> TrainResult:
    """Train ``model`` on ``dataset`` by minimising ``loss_fn(model, batch, generator)``.

    ``dataset`` is any sequence of PyG ``Data`` (or tensors) that torch_geometric's DataLoader can
    batch; ``loss_fn`` returns a scalar tensor and takes its randomness (noise, unroll lengths)
    from ``generator``, which is seeded by (seed, step, rank), so runs are reproducible and resume
    exactly. ``validate(model) -> {name: number}`` runs in eval mode without gradients every
    ``config.val_every`` steps and at the end (rank 0 only).

    Under ``torch.distributed`` (e.g. torchrun) the loss runs inside DistributedDataParallel and
    each process takes its slice of every global batch; only rank 0 writes files.

    With ``run_dir``: config.json, metrics.jsonl, checkpoints/, loss.png (see `RunFolder`);
    ``resume=True`` continues from the latest intact checkpoint there (model, optimiser, step; the
    data order and generators follow from the step; damaged newer checkpoints are skipped with a
    `CheckpointWarning`), or starts afresh if there is none. A run_dir
    holding checkpoints without ``resume=True`` is an error, so no run is overwritten by accident.

    ``batches`` replaces the DataLoader over ``dataset`` by any iterable of ready batches (online
    training: batches drawn from simulators' output, `meshsim.data.online.OnlineFeed`); it may be
    endless, the loop takes what it needs. ``data_stats()`` adds figures of the data source
    (samples produced, buffer fill, ...) to the progress bar and, prefixed ``data/``, to the
    logged metrics.

    A ``loss_fn`` with a method ``set_step(step)`` is told the number (1-based) of each step before
    it runs, for losses that follow a schedule (MP-PDE's pushforward curriculum); what it does
    must depend on that number alone, so resumed runs stay exact.

    Raises:
        NonFiniteLossError: a NaN/Inf loss, before the parameters are updated with it; the last
            good checkpoint is kept.
    """
    rank, world_size = distributed_context()
    folder = RunFolder(run_dir) if run_dir is not None else None
    optimizer = make_optimizer(model, config)
    start, last_good = _start(model, optimizer, config, folder, resume, extra_config or {}, rank)
    writer = folder if rank == 0 else None
    result = TrainResult(step=start, run_dir=folder.path if folder else None)
    best = _best_tracker(config, folder, validate, rank)
    result.best = _best_record(best)
    if start >= config.steps:
        return result
    module = wrap_loss(model, loss_fn)
    if batches is None:
        sampler = StepBatchSampler(len(dataset), config.batch_size, config.seed, start, config.steps - start,
                                   rank, world_size)
        batches = DataLoader(dataset, batch_sampler=sampler, num_workers=config.num_workers)
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress or rank != 0, unit="step")
    interval, interval_start = [], time.perf_counter()
    deadline = math.inf if config.max_seconds is None else time.perf_counter() + config.max_seconds
    model.train()
    for step, batch in zip(range(start + 1, config.steps + 1), batches):
        lr = config.learning_rate(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        if hasattr(loss_fn, "set_step"):
            loss_fn.set_step(step)
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
        out_of_time = time.perf_counter() >= deadline
        if config.max_seconds is not None and world_size > 1:  # every process stops at the same step
            out_of_time = float(global_mean(torch.tensor(float(out_of_time)))) > 0
        last = step == config.steps or out_of_time
        if step % config.log_every == 0 or last:
            elapsed = time.perf_counter() - interval_start
            record = {"step": step, "loss": sum(interval) / len(interval), "lr": lr,
                      "steps_per_s": len(interval) / max(elapsed, 1e-12)}
            source = dict(data_stats()) if data_stats is not None else {}
            bar.set_postfix(loss=f"{record['loss']:.3g}", steps_per_s=f"{record['steps_per_s']:.3g}",
                            **{k: f"{v:.3g}" if isinstance(v, float) else v for k, v in source.items()})
            record.update({f"data/{k}": v for k, v in source.items()})
            if writer:
                writer.append_metrics(record)
            interval, interval_start = [], time.perf_counter()
        if validate is not None and rank == 0 and (
                (config.val_every and step % config.val_every == 0) or last):
            record = _validate(model, validate, step)
            result.validation.append(record)
            if writer:
                writer.append_metrics(record)
            if best is not None and best.update(record, model):
                result.best = _best_record(best)
        if folder and (step % config.checkpoint_every == 0 or last):
            if rank == 0:
                last_good = save_checkpoint(checkpoint_path(folder.checkpoints, step), model, optimizer, step,
                                            train_config=dataclasses.asdict(config), loss=value)
                prune_checkpoints(folder.checkpoints, config.keep_checkpoints)
            else:
                last_good = checkpoint_path(folder.checkpoints, step)
        if last:
            break
    bar.close()
    if writer:
        writer.plot_losses()
    return result
