"""``meshsim train KIND --data DIR`` and ``meshsim evaluate RUN --data DIR``; `add_commands`
registers them on the ``meshsim`` command's subparsers.

    meshsim train mgn --data data/cylinder_flow --out runs/mgn --steps 2000
    meshsim evaluate runs/mgn --data data/cylinder_flow
    torchrun --nproc_per_node 2 -m meshsim.cli train mgn --data data/cylinder_flow --out runs/mgn-ddp
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Callable

from .tasks import TASKS, task_class


def _parse_setting(text: str, settings_type) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, value typed like the settings field's default)."""
    key, sep, value = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(settings_type)}
    if not sep or key not in fields:
        raise SystemExit(f"--set {text!r}: expected KEY=VALUE with KEY one of {', '.join(fields)}")
    default = fields[key].default
    if isinstance(default, bool):
        return key, value.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return key, int(value)
    if isinstance(default, float):
        return key, float(value)
    if default is None or isinstance(default, tuple):  # a tuple of ints, e.g. node type codes
        return key, tuple(int(v) for v in value.split(",") if v)
    return key, value


def _settings(task_type, assignments: list[str], saved: dict | None = None):
    values = dict(saved or {})
    values.update(_parse_setting(text, task_type.Settings) for text in assignments)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return task_type.Settings(**values)


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
    from .loop import TrainConfig, train

    if args.threads:
        torch.set_num_threads(args.threads)
    init_from_environment()
    rank, _ = distributed_context()
    task_type = task_class(args.kind)
    task = task_type(args.data, _settings(task_type, args.set))
    defaults = task_type.train_defaults
    config = TrainConfig(steps=args.steps or defaults["steps"], batch_size=args.batch_size or defaults["batch_size"],
                         lr=args.lr or defaults["lr"], lr_final=args.lr_final or defaults.get("lr_final"),
                         seed=args.seed, val_every=args.val_every, checkpoint_every=args.checkpoint_every,
                         num_workers=args.workers, progress=not args.quiet,
                         log_every=max(1, min(100, (args.steps or defaults["steps"]) // 50)))
    torch.manual_seed(args.seed)
    model = task.model()
    run = Path(args.out)
    result = train(model, task.loss(), task.train_set, config, run_dir=run, validate=task.validate(),
                   resume=args.resume,
                   extra_config={"task": args.kind, "data": str(Path(args.data).resolve()),
                                 "settings": dataclasses.asdict(task.settings)})
    if rank == 0:
        last = result.validation[-1] if result.validation else {}
        print(f"trained {args.kind} to step {result.step}; run folder {run}; "
              + ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k != "step"))
        _write_animation(task, model, run, "rollout.gif", "valid", animate)
    return 0


def load_run(run: str | Path, data: str | Path | None = None):
    """(task, model) of a run folder with its latest checkpoint loaded; ``data`` overrides the
    dataset folder the run was trained on (same schema expected)."""
    from .checkpoint import latest_checkpoint, load_checkpoint
    from .run_folder import RunFolder

    if not (Path(run) / "config.json").is_file():
        raise FileNotFoundError(f"{run} is not a run folder (no config.json)")
    folder = RunFolder(run)
    config = folder.read_config()
    task_type = task_class(config["task"])
    task = task_type(data or config["data"], _settings(task_type, [], config["settings"]))
    model = task.model()
    checkpoint = latest_checkpoint(folder.checkpoints)
    if checkpoint is None:
        raise FileNotFoundError(f"{run} holds no checkpoint")
    load_checkpoint(checkpoint, model)
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
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    task, model = load_run(args.run, args.data)
    metrics = task.evaluate(model, args.split, max_trajectories=args.max_trajectories)
    print(format_table(metrics))
    out = Path(args.run) / f"evaluation-{args.split}.json"
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out}")
    _write_animation(task, model, Path(args.run), f"rollout-{args.split}.gif", args.split, animate)
    return 0


def add_commands(sub, animate: Callable | None = None) -> None:
    """Add ``train`` and ``evaluate`` to ``sub``; ``animate`` is `meshsim.viz.animate_rollout`
    (passed in because the train layer may not import viz)."""
    train_parser = sub.add_parser("train", help="train a model on a dataset folder",
                                  description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    train_parser.add_argument("kind", choices=sorted(TASKS))
    train_parser.add_argument("--data", required=True, help="dataset folder made by `meshsim generate`")
    train_parser.add_argument("--out", default="runs/run", help="run folder (config, metrics, checkpoints, plots)")
    train_parser.add_argument("--steps", type=int, help="optimiser steps (default: the task's)")
    train_parser.add_argument("--batch-size", type=int)
    train_parser.add_argument("--lr", type=float)
    train_parser.add_argument("--lr-final", type=float)
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--val-every", type=int, default=0, help="steps between validations (0: at the end)")
    train_parser.add_argument("--checkpoint-every", type=int, default=500)
    train_parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    train_parser.add_argument("--threads", type=int, help="torch threads")
    train_parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    train_parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                              help="model setting (e.g. latent_dim=64); repeatable")
    train_parser.add_argument("--quiet", action="store_true")
    train_parser.set_defaults(func=lambda args: _cmd_train(args, animate))

    evaluate_parser = sub.add_parser("evaluate", help="metrics of a trained run on a dataset split")
    evaluate_parser.add_argument("run", help="run folder of `meshsim train`")
    evaluate_parser.add_argument("--data", help="dataset folder (default: the one the run trained on)")
    evaluate_parser.add_argument("--split", default="test")
    evaluate_parser.add_argument("--max-trajectories", type=int)
    evaluate_parser.add_argument("--threads", type=int)
    evaluate_parser.set_defaults(func=lambda args: _cmd_evaluate(args, animate))
