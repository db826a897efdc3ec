"""Best-validation checkpoint: the model at the validation with the lowest value of one metric."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

from torch import nn

from .checkpoint import read_checkpoint, save_checkpoint

#: file name of the best-validation checkpoint inside a run's checkpoints/ folder
BEST_NAME = "best.pt"


def best_checkpoint(folder: str | Path) -> Path | None:
    """``folder/best.pt`` if a run wrote one (``TrainConfig.best_metric``), else None."""
    path = Path(folder) / BEST_NAME
    return path if path.is_file() else None


class BestCheckpoint:
    """Keeps ``checkpoints/best.pt`` (model state, ``step``, ``metric``, ``value``) at the model of
    the lowest validation value of ``metric`` seen so far; a resumed run starts from the value
    stored there, so the selection is the same as in an uninterrupted run."""

    def __init__(self, folder: str | Path, metric: str):
        self.path, self.metric = Path(folder) / BEST_NAME, metric
        self.step, self.value = None, math.inf
        if self.path.is_file():
            state = read_checkpoint(self.path)
            self.step, self.value = int(state["step"]), float(state["value"])

    def update(self, record: Mapping[str, float], model: nn.Module) -> bool:
        """Save ``model`` if validation ``record`` (``step`` and ``val/<name>`` entries) improves on
        the best value; True if it did. ValueError if the record lacks the metric."""
        key = f"val/{self.metric}"
        if key not in record:
            names = sorted(k[4:] for k in record if k.startswith("val/"))
            raise ValueError(f"best_metric {self.metric!r} is not a validation metric (validation gives {names})")
        value = float(record[key])
        if not value < self.value:
            return False
        self.step, self.value = int(record["step"]), value
        save_checkpoint(self.path, model, None, self.step, metric=self.metric, value=value)
        return True
