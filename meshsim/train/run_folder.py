"""The run folder: ``config.json``, ``metrics.jsonl``, ``checkpoints/`` and ``loss.png``."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class RunFolder:
    """Files of one training run under ``path``.

    - ``config.json``: the training configuration and whatever the caller adds (model settings).
    - ``metrics.jsonl``: one JSON object per line (``step`` plus named numbers), appended as
      training goes; a resumed run appends to it, dropping lines past the resumed step.
    - ``checkpoints/step-XXXXXXXX.pt``: see `meshsim.train.checkpoint`.
    - ``loss.png``: training loss (and validation numbers) against step.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.config_path.write_text(json.dumps(dict(config), indent=2, sort_keys=True) + "\n")

    def read_config(self) -> dict:
        return json.loads(self.config_path.read_text())

    def append_metrics(self, record: Mapping[str, Any]) -> None:
        """Append one record (must hold ``step``); non-finite numbers are written as strings."""
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v)) for k, v in record.items()}
        with self.metrics_path.open("a") as stream:
            stream.write(json.dumps(clean) + "\n")

    def read_metrics(self) -> list[dict]:
        if not self.metrics_path.is_file():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]

    def truncate_metrics(self, last_step: int) -> None:
        """Drop records after ``last_step`` (a resumed run repeats those steps)."""
        kept = [r for r in self.read_metrics() if r["step"] <= last_step]
        self.metrics_path.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def plot_losses(self, key: str = "loss") -> Path:
        """Write ``loss.png``: ``key`` and every ``val/*`` number against step, log scale."""
        records = self.read_metrics()
        figure = Figure(figsize=(6, 4))
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        names = [key] + sorted({k for r in records for k in r if k.startswith("val/")})
        for name in names:
            points = [(r["step"], r[name]) for r in records
                      if isinstance(r.get(name), (int, float)) and r[name] > 0]
            if points:
                steps, values = zip(*points)
                axes.plot(steps, values, label=name, marker="." if name != key else None)
        axes.set_xlabel("step")
        axes.set_yscale("log")
        if axes.lines:
            axes.legend()
        path = self.path / "loss.png"
        figure.savefig(path, dpi=100)
        return path
