"""Checkpoints: model and optimiser state in files that load with ``torch.load(weights_only=True)``.

A checkpoint is written to a temporary name and renamed into place, so a crash leaves no half file
under a checkpoint's name; a file damaged afterwards (truncated, emptied) is skipped by
`load_latest_checkpoint`, which falls back to the newest intact one and warns.
"""
from __future__ import annotations

import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

_NAME = re.compile(r"^step-(\d{8})\.pt$")
#: what torch.load raises on a truncated, emptied or overwritten checkpoint file
_UNREADABLE = (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError)


class CheckpointError(ValueError):
    """A checkpoint cannot be read, or does not fit the model; the message names the file."""


class CheckpointWarning(UserWarning):
    """A damaged checkpoint was skipped in favour of an older, intact one."""


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
    return _load_states(path, read_checkpoint(path), model, optimizer)


def _load_states(path: Path, state: dict, model: nn.Module | None, optimizer: torch.optim.Optimizer | None) -> dict:
    if model is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as error:
            raise CheckpointError(f"checkpoint {path} does not fit the model: {_mismatch(error)}") from error
    if optimizer is not None:
        if "optimizer" not in state:
            raise KeyError(f"checkpoint {path} holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    return state


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict in ``path``, read with ``weights_only=True``; `CheckpointError` naming the
    file if it is damaged (empty, truncated, not a checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except _UNREADABLE as error:
        size = path.stat().st_size if path.is_file() else 0
        first_sentence = (str(error).split(". ")[0].splitlines() or [type(error).__name__])[0]
        reason = "an empty file" if size == 0 else f"{size:,} bytes: {first_sentence}"
        raise CheckpointError(f"checkpoint {path} is damaged ({reason})") from error
    if not isinstance(state, dict) or "model" not in state or "step" not in state:
        raise CheckpointError(f"checkpoint {path} holds no model state and step")
    return state


def _mismatch(error: RuntimeError) -> str:
    """The first specific line of torch's state_dict mismatch message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else lines[0] if lines else "state_dict mismatch"
    return (detail[:300] + " ...") if len(detail) > 300 else detail


def load_latest_checkpoint(folder: str | Path, model: nn.Module | None = None,
                           optimizer: torch.optim.Optimizer | None = None) -> tuple[Path, dict] | None:
    """Load the newest intact checkpoint in ``folder`` (as `load_checkpoint`); returns (path,
    checkpoint dict), or None if the folder holds no checkpoint. Damaged newer ones are skipped
    with a `CheckpointWarning` naming them and the one used instead; `CheckpointError` if every
    checkpoint is damaged."""
    checkpoints = list_checkpoints(folder)
    damaged = []
    for path in reversed(checkpoints):
        try:
            state = read_checkpoint(path)
        except CheckpointError as error:
            damaged.append(str(error))
            continue
        if damaged:
            warnings.warn(f"{'; '.join(damaged)}: using {path.name} (step {state['step']}) instead",
                          CheckpointWarning, stacklevel=2)
        return path, _load_states(path, state, model, optimizer)
    if damaged:
        raise CheckpointError(f"no intact checkpoint in {folder}: {'; '.join(damaged)}")
    return None


def intact_step(folder: str | Path) -> int | None:
    """The step of the newest checkpoint in ``folder`` that reads back (None if none does)."""
    for path in reversed(list_checkpoints(folder)):
        try:
            return int(read_checkpoint(path)["step"])
        except CheckpointError:
            continue
    return None


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
