"""Learned mesh movers as standalone files: a model's kind, settings and weights in one file that
loads with ``torch.load(weights_only=True)`` and needs no dataset (``meshsim move --model``)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch
from torch import nn

from .checkpoint import latest_checkpoint, load_checkpoint


def export_model(path: str | Path, kind: str, settings, model: nn.Module) -> Path:
    """Write ``{"kind", "settings" (JSON), "model" (state dict)}`` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"kind": kind, "settings": json.dumps(dataclasses.asdict(settings)), "model": model.state_dict()}
    torch.save(state, path)
    return path


def _settings(settings_type, values: dict):
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return settings_type(**values)


def load_movement_model(source: str | Path) -> tuple[str, object, nn.Module]:
    """(kind, settings, model in eval mode) from an `export_model` file or from a run folder of
    ``meshsim train um2n|dmm`` (its config.json and latest checkpoint)."""
    from .tasks import task_class

    source = Path(source)
    if source.is_dir():
        config = json.loads((source / "config.json").read_text())
        kind, values = config["task"], config["settings"]
        checkpoint = latest_checkpoint(source / "checkpoints")
        if checkpoint is None:
            raise FileNotFoundError(f"{source} holds no checkpoint")
        state = load_checkpoint(checkpoint)["model"]
    elif source.is_file():
        saved = torch.load(source, map_location="cpu", weights_only=True)
        kind, values, state = saved["kind"], json.loads(saved["settings"]), saved["model"]
    else:
        raise FileNotFoundError(f"no model file or run folder at {source}")
    task_type = task_class(kind)
    if not hasattr(task_type, "build_model"):
        raise ValueError(f"{source} holds a {kind!r} model, not a mesh mover")
    settings = _settings(task_type.Settings, values)
    model = task_type.build_model(settings)
    model.load_state_dict(state)
    model.eval()
    return kind, settings, model
