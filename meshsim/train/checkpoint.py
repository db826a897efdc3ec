"""Checkpoints: model and optimiser state in files that load with ``torch.load(weights_only=True)``."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

_NAME = re.compile(r"^step-(\d{8})\.pt$")


def checkpoint_path(folder: str | Path, step: int) -> Path:
    """``folder/step-00000123.pt``."""
    return Path(folder) / f"step-{step:08d}.pt"


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None, step: int,
                    **extra: Any) -> Path:
    """Write model (and optimiser) state, ``step`` and ``extra`` (tensors, numbers, strings, lists,
    dicts) to ``path``, atomically: a temporary file renamed into place, so a crash never leaves a
    half-written checkpoint under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"step": int(step), "model": model.state_dict(), **extra}
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
    return path


def load_checkpoint(path: str | Path, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Read a checkpoint with ``weights_only=True``; load its states into ``model`` and ``optimizer``
    when given. Returns the whole checkpoint dict (``step``, ``model``, ``optimizer``, extras)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if model is not None:
        model.load_state_dict(state["model"])
    if optimizer is not None:
        if "optimizer" not in state:
            raise KeyError(f"checkpoint {path} holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    return state


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Checkpoints ``step-*.pt`` in ``folder``, oldest step first (empty if the folder is missing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if _NAME.match(p.name)), key=lambda p: p.name)


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The checkpoint of the highest step in ``folder``, or None."""
    checkpoints = list_checkpoints(folder)
    return checkpoints[-1] if checkpoints else None


def prune_checkpoints(folder: str | Path, keep: int) -> None:
    """Delete all but the ``keep`` most recent checkpoints in ``folder``."""
    for path in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        path.unlink()
