"""What a ``meshsim train`` run uses: the model settings (``--set KEY=VALUE`` over the run's saved
ones), the training configuration (options given > the run's config.json on ``--resume`` > the
model kind's defaults) and the step a resumed run has reached. Bad values raise ValueError (or
FileExistsError / FileNotFoundError) with a message naming the option, for a one-line error."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .tasks import task_class

#: TrainConfig fields a resumed run takes from its config.json unless the option is given, with
#: their defaults for a new run when the model kind sets none
RESUMED_FIELDS = {"steps": None, "batch_size": None, "lr": None, "lr_final": None, "seed": 0, "val_every": 0,
                  "checkpoint_every": 500, "optimizer": "adamw"}


@dataclass(frozen=True)
class TrainPlan:
    """A resolved ``meshsim train`` call: model ``kind`` and its ``task_type``, the dataset folder
    ``data`` (None for online training without one), the ``run`` folder, model ``settings``, the
    ``config`` (a `TrainConfig`) and ``done_step``, the step of a resumed run's latest intact
    checkpoint (None for a new run)."""

    kind: str
    task_type: type
    data: Path | None
    run: Path
    settings: Any
    config: Any
    done_step: int | None


def read_run_config(run: str | Path) -> dict:
    """A run folder's config.json; FileNotFoundError if ``run`` is not a run folder."""
    path = Path(run) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run} is not a run folder (no config.json)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from error


def _parse_number(text: str, key: str, kind: type):
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"--set {key}={text}: {key} takes {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"--set {key}={text}: {key} must be a finite number >= 0")
    return value


def parse_setting(text: str, settings_type) -> tuple[str, object]:
    """``KEY=VALUE`` -> (key, value typed like the settings field's default); ValueError naming
    the problem (unknown key, value of the wrong type, negative number)."""
    key, sep, value = text.partition("=")
    fields = {f.name: f for f in dataclasses.fields(settings_type)}
    if not sep or key not in fields:
        raise ValueError(f"--set {text!r}: expected KEY=VALUE with KEY one of {', '.join(fields)}")
    default = fields[key].default
    if isinstance(default, bool):
        if value.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValueError(f"--set {text}: {key} takes true or false")
        return key, value.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        return key, _parse_number(value, key, int)
    if isinstance(default, float):
        return key, _parse_number(value, key, float)
    if default is None or isinstance(default, tuple):  # a tuple of ints, e.g. node type codes
        return key, tuple(_parse_number(v, key, int) for v in value.split(",") if v)
    return key, value


def _as_field_value(value):
    return tuple(value) if isinstance(value, list) else value


def task_settings(task_type, assignments: list[str], saved: dict | None = None):
    """``task_type.Settings`` from the ``saved`` values (a run's config.json) with ``--set``
    ``assignments`` on top."""
    known = {f.name for f in dataclasses.fields(task_type.Settings)}
    unknown = sorted(set(saved or {}) - known)
    if unknown:
        raise ValueError(f"the run's settings {unknown} are not settings of {task_type.__name__}")
    values = {k: _as_field_value(v) for k, v in (saved or {}).items()}
    values.update(parse_setting(text, task_type.Settings) for text in assignments)
    return task_type.Settings(**values)


def _resumed_settings(task_type, assignments: list[str], saved: dict):
    """The run's saved settings; a ``--set`` that changes one is refused (the checkpoint holds a
    model built with the saved ones)."""
    for key, value in (parse_setting(text, task_type.Settings) for text in assignments):
        if key in saved and _as_field_value(saved[key]) != value:
            raise ValueError(f"--set {key}={value}: --resume keeps the run's settings ({key}={saved[key]} in "
                             f"config.json); train a new run (another --out) to change it")
    return task_settings(task_type, assignments, saved)


def resolve_train_run(args) -> TrainPlan:
    """The `TrainPlan` of ``meshsim train`` options ``args`` (an argparse namespace)."""
    from .checkpoint import intact_step, latest_checkpoint
    from .loop import TrainConfig

    run = Path(args.out)
    latest = latest_checkpoint(run / "checkpoints")
    if latest is not None and not args.resume:
        raise FileExistsError(f"{run} already holds a training run (checkpoint {latest.name}); add --resume to "
                              f"continue it, or choose another --out")
    saved = read_run_config(run) if args.resume and (run / "config.json").is_file() else None
    if saved is not None and saved.get("task") != args.kind:
        raise ValueError(f"{run} is a {saved.get('task')} run, not {args.kind}")
    data = args.data or (saved or {}).get("data")
    if data is None and getattr(args, "online", None) is None:
        raise ValueError("--data is required: the dataset folder made by `meshsim generate` (or --online RECIPE)")
    task_type = task_class(args.kind)
    settings = (_resumed_settings(task_type, args.set, saved.get("settings", {})) if saved is not None
                else task_settings(task_type, args.set))
    done_step = intact_step(run / "checkpoints") if args.resume and latest is not None else None
    if done_step is not None and args.steps is not None and args.steps < done_step:
        raise ValueError(f"{run} is at step {done_step}: --steps {args.steps} is below it (--steps counts "
                         f"every step of the run; pass more than {done_step} to train further)")
    saved_train = (saved or {}).get("train", {})
    defaults = {**RESUMED_FIELDS, **task_type.train_defaults}
    values = {name: getattr(args, name) if getattr(args, name) is not None
              else saved_train.get(name, defaults[name]) for name in RESUMED_FIELDS}
    log_every = saved_train.get("log_every") or max(1, min(100, values["steps"] // 50))
    schedule = getattr(task_type, "train_schedule", None)  # a kind's recipe beyond steps, batch size and lr
    extra = schedule(settings) if schedule is not None else {}
    # the kind's recipe sets what the options and the saved run leave open (e.g. the optimiser)
    for name in set(extra) & set(values):
        given = getattr(args, name, None) is not None or name in saved_train
        values[name] = values[name] if given else extra[name]
    extra = {k: v for k, v in extra.items() if k not in values}
    config = TrainConfig(**values, **extra, num_workers=args.workers, progress=not args.quiet, log_every=log_every)
    return TrainPlan(args.kind, task_type, None if data is None else Path(data), run, settings, config, done_step)
