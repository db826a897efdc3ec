"""Normalisation statistics of fields, accumulated shard by shard in a fixed order.

Per channel: count, mean, standard deviation (population), min and max, merged across chunks
with Chan et al.'s parallel update so the result depends only on the data and the shard order.
For time-dependent fields, the statistics of the frame-to-frame increments ``u[t+1] - u[t]``
are kept too (as ``{name}_increment``), for models that predict increments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RunningStats:
    """Per-channel statistics of the rows seen so far; arrays of shape (c,)."""

    count: int
    mean: np.ndarray
    m2: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray) -> "RunningStats":
        """Statistics of a (R, c) array."""
        rows = np.asarray(rows, dtype=np.float64)
        mean = rows.mean(axis=0) if len(rows) else np.zeros(rows.shape[1])
        return cls(len(rows), mean, ((rows - mean) ** 2).sum(axis=0),
                   rows.min(axis=0, initial=np.inf), rows.max(axis=0, initial=-np.inf))

    def merge(self, other: "RunningStats") -> "RunningStats":
        """Statistics of the union of both sets of rows."""
        n = self.count + other.count
        if n == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        return RunningStats(n, mean, m2, np.minimum(self.low, other.low), np.maximum(self.high, other.high))

    def to_dict(self) -> dict:
        """JSON-friendly dict: count and per-channel mean, std, min, max lists."""
        std = np.sqrt(self.m2 / self.count) if self.count else np.zeros_like(self.m2)
        return {"count": int(self.count), "mean": self.mean.tolist(), "std": std.tolist(),
                "min": self.low.tolist(), "max": self.high.tolist()}


def field_rows(values: np.ndarray) -> np.ndarray:
    """(R, c) rows of a stored field: (P, c) steady or (P, T, c) trajectory."""
    return values.reshape(-1, values.shape[-1])


def increment_rows(values: np.ndarray) -> np.ndarray:
    """(R, c) frame-to-frame increments of a (P, T, c) trajectory field."""
    return np.diff(values, axis=1).reshape(-1, values.shape[-1])


def field_statistics(readers, names) -> dict:
    """``{name: stats dict}`` over all samples of the shard readers (in the order given);
    time-dependent fields also get ``{name}_increment``."""
    totals: dict[str, RunningStats] = {}
    for reader in readers:
        if len(reader) == 0:
            continue
        for name in names:
            values = reader.field(name)
            chunks = [(name, field_rows(values))]
            if values.ndim == 3:
                chunks.append((f"{name}_increment", increment_rows(values)))
            for key, rows in chunks:
                stats = RunningStats.of(rows)
                totals[key] = totals[key].merge(stats) if key in totals else stats
    return {key: stats.to_dict() for key, stats in sorted(totals.items())}
