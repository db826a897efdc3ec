"""``meshsim train KIND`` and ``meshsim evaluate RUN``; `add_commands` registers them on the
``meshsim`` command's subparsers. The run's settings and training configuration are resolved in
`meshsim.train.run_settings`."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import time
from pathlib import Path
from typing import Callable

from .online_cli import add_online_options, cmd_train_online
from .run_settings import read_run_config, resolve_train_run, task_settings
from .tasks import TASKS, task_class

TRAIN_DESCRIPTION = """Train a model on a dataset folder made by `meshsim generate`.

KIND is the model: mgn (MeshGraphNet, trajectory datasets such as cylinder_flow), mppde (MP-PDE,
mppde_E1/E2/E3), egnn or segno (nbody_charged, nbody_gravity), and any other listed below.
The run folder (--out) receives config.json (the task, dataset and settings), metrics.jsonl,
checkpoints/, loss.png and a rollout GIF of a validation trajectory. --resume continues a run from
its last intact checkpoint with the settings in its config.json; --steps then sets the step to
train up to (it must be beyond the run's current step)."""

TRAIN_EXAMPLES = """examples:
  meshsim train mgn --data data/cyl --out runs/mgn --steps 2000 --set latent_dim=64
  meshsim train mgn --out runs/mgn --resume --steps 4000
  meshsim train stnn --online heat_parametric --out runs/stnn-online --steps 5000 --optimizer soap
  meshsim train mgn --data data/cyl --online cylinder_flow --out runs/mgn-online --buffer 64
  torchrun --nproc_per_node 2 -m meshsim.cli train mgn --data data/cyl --out runs/mgn-ddp"""

EVALUATE_DESCRIPTION = """Metrics of a trained run on a split of its dataset (or of another dataset
folder with the same layout), printed as a table and written to RUN/evaluation-SPLIT.json, with a
rollout GIF of the split's first trajectory. mgn: one-step RMSE, rollout RMSE over the first
min(50, frames - 1) steps (rollout_rmse_<steps>) and over whole trajectories, and the persistence
baseline's; mppde: accumulated error over 7 and 8 bundles (frames 50-224 and 50-249) and the WENO5
baseline's on the same frames; egnn/segno: position MSE."""

THREADS_HELP = ("torch threads (default: OMP_NUM_THREADS if set, else 1, the fastest on a shared machine "
                "for meshsim's graph sizes)")


def _integer(minimum: int):
    """argparse type: an integer >= ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        return value
    return parse


def _positive_number(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


class _FractionSetting(argparse.Action):
    """``--fraction F``: a thin alias of ``--set fraction=F``."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.set = [*getattr(namespace, "set", []), f"fraction={values}"]


def _write_animation(task, model, run: Path, name: str, split: str, animate: Callable | None) -> None:
    example = getattr(task, "example_rollout", None)
    if animate is None or example is None:
        return
    result = example(model, split)
    faces = getattr(result.graph, "face", None)
    path = animate(result.graph.pos.numpy(), None if faces is None else faces.T.numpy(),
                   result.truth.numpy(), result.prediction.numpy(), run / name,
                   times=result.times, title=f"{task.name} rollout ({split})")
    print(f"wrote {path}")


def _cmd_train(args, animate: Callable | None) -> int:
    import torch

    from .ddp import distributed_context, init_from_environment
    from .loop import train

    plan = resolve_train_run(args)
    if args.online is not None:
        return cmd_train_online(plan, args)
    init_from_environment()
    rank, _ = distributed_context()
    if plan.done_step is not None and plan.done_step >= plan.config.steps:
        if rank == 0:
            print(f"{plan.run} is already at step {plan.done_step} of {plan.config.steps}; nothing to train "
                  f"(--steps N with N > {plan.done_step} trains further)")
        return 0
    task = plan.task_type(plan.data, plan.settings)
    torch.manual_seed(plan.config.seed)
    model = task.model()
    result = train(model, task.loss(), task.train_set, plan.config, run_dir=plan.run, validate=task.validate(),
                   resume=args.resume,
                   extra_config={"task": plan.kind, "data": str(Path(plan.data).resolve()),
                                 "settings": dataclasses.asdict(task.settings)})
    if rank == 0:
        last = result.validation[-1] if result.validation else {}
        print(f"trained {plan.kind} to step {result.step}; run folder {plan.run}; "
              + ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step"))
        _write_animation(task, model, plan.run, "rollout.gif", "valid", animate)
    return 0


def load_run(run: str | Path, data: str | Path | None = None):
    """(task, model) of a run folder with its latest intact checkpoint loaded (a damaged newer one
    is skipped with a `CheckpointWarning`), or its best-validation checkpoint ``best.pt`` when the
    run kept one (``TrainConfig.best_metric``); ``data`` overrides the dataset folder the run was
    trained on (same schema expected)."""
    from .best import best_checkpoint
    from .checkpoint import load_checkpoint, load_latest_checkpoint

    config = read_run_config(run)
    task_type = task_class(config["task"])
    task = task_type(data or config["data"], task_settings(task_type, [], config["settings"]))
    model = task.model()
    if load_latest_checkpoint(Path(run) / "checkpoints", model) is None:
        raise FileNotFoundError(f"{run} holds no checkpoint")
    best = best_checkpoint(Path(run) / "checkpoints")
    if best is not None:
        load_checkpoint(best, model)
    model.eval()
    return task, model


def format_table(metrics: dict) -> str:
    """Metric name and value, one per line."""
    width = max(len(k) for k in metrics)
    lines = []
    for name, value in metrics.items():
        shown = f"{value:.4e}" if isinstance(value, float) else str(value)
        lines.append(f"{name:<{width}}  {shown}")
    return "\n".join(lines)


def _cmd_evaluate(args, animate: Callable | None) -> int:
    start = time.perf_counter()
    task, model = load_run(args.run, args.data)
    print(f"evaluating {task.name} of {args.run} on split {args.split!r} ...", flush=True)
    options = {"max_trajectories": args.max_trajectories}
    if "progress" in inspect.signature(task.evaluate).parameters:  # tasks that can show a progress bar
        options["progress"] = not args.quiet
    metrics = task.evaluate(model, args.split, **options)
    print(format_table(metrics))
    out = Path(args.run) / f"evaluation-{args.split}.json"
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out} ({time.perf_counter() - start:.1f} s)")
    _write_animation(task, model, Path(args.run), f"rollout-{args.split}.gif", args.split, animate)
    return 0


def add_commands(sub, animate: Callable | None = None) -> None:
    """Add ``train`` and ``evaluate`` to ``sub``; ``animate`` is `meshsim.viz.animate_rollout`
    (passed in because the train layer may not import viz). Options left unset (None) take the
    run's saved value on ``--resume``, else the model kind's default."""
    train_parser = sub.add_parser("train", help="train a model on a dataset folder",
                                  description=TRAIN_DESCRIPTION, epilog=TRAIN_EXAMPLES)
    train_parser.add_argument("kind", choices=sorted(TASKS), metavar="KIND",
                              help=f"model kind: {', '.join(sorted(TASKS))}")
    train_parser.add_argument("--data", help="dataset folder made by `meshsim generate` "
                                             "(required, except with --resume: the run's)")
    train_parser.add_argument("--out", default="runs/run", help="run folder")
    train_parser.add_argument("--steps", type=_integer(1),
                              help="optimiser steps in all, counting those of a resumed run "
                                   "(default: the run's on --resume, else the kind's, e.g. 2000 for mgn)")
    train_parser.add_argument("--batch-size", type=_integer(1), help="samples per step (default: the kind's)")
    train_parser.add_argument("--lr", type=_positive_number, help="peak learning rate (default: the kind's)")
    train_parser.add_argument("--lr-final", type=_positive_number,
                              help="learning rate at the last step, exponential decay (default: the kind's)")
    train_parser.add_argument("--seed", type=_integer(0), help="seed of the weights, data order and noise (default: 0)")
    train_parser.add_argument("--val-every", type=_integer(0),
                              help="steps between validations (default: 0, only at the end)")
    train_parser.add_argument("--checkpoint-every", type=_integer(1),
                              help="steps between checkpoints (default: 500; the last step is always saved)")
    train_parser.add_argument("--workers", type=_integer(0), default=0, help="DataLoader worker processes")
    train_parser.add_argument("--optimizer", choices=("adamw", "adam", "soap"),
                              help="optimiser (default: adamw, or the run's on --resume); soap needs pytorch-optimizer")
    add_online_options(train_parser)
    train_parser.add_argument("--threads", type=_integer(1), metavar="N", help=THREADS_HELP)
    train_parser.add_argument("--resume", action="store_true",
                              help="continue the run in --out from its last intact checkpoint, with its settings")
    train_parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                              help="model setting, e.g. latent_dim=64 (repeatable; a wrong KEY lists the "
                                   "kind's settings)")
    train_parser.add_argument("--fraction", type=_positive_number, action=_FractionSetting, dest="set", metavar="F",
                              default=argparse.SUPPRESS,
                              help="giorom: fraction of the particles it steps (the same as --set fraction=F)")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    train_parser.set_defaults(func=lambda args: _cmd_train(args, animate))

    evaluate_parser = sub.add_parser("evaluate", help="metrics of a trained run on a dataset split",
                                     description=EVALUATE_DESCRIPTION)
    evaluate_parser.add_argument("run", help="run folder of `meshsim train`")
    evaluate_parser.add_argument("--data", help="dataset folder (default: the one the run trained on)")
    evaluate_parser.add_argument("--split", default="test", help="dataset split")
    evaluate_parser.add_argument("--max-trajectories", type=_integer(1),
                                 help="evaluate only the split's first N trajectories (default: all)")
    evaluate_parser.add_argument("--threads", type=_integer(1), metavar="N", help=THREADS_HELP)
    evaluate_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate_parser.set_defaults(func=lambda args: _cmd_evaluate(args, animate))
