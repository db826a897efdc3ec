"""GIF animations of a rollout: the true and the predicted field side by side, frame by frame.

`animate_rollout` draws, for 2D points with triangle cells, three ``tripcolor`` panels "truth",
"prediction" (one colour scale from the truth over all frames, so a blow-up saturates) and
"|error|" (its own scale, 0 to the largest error); for 1D points, truth and prediction as lines
against x with y-limits fixed by the truth. The figure (``Figure`` on an Agg canvas, never shown)
and its static parts are rendered once; each frame redraws only the changing artists over that
background (blitting) and hands the RGB buffer to PIL, which writes the GIF.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.tri import Triangulation
from PIL import Image

from .mesh_plot import CMAP

DPI = 80


def _as_array(values, name: str) -> np.ndarray:
    """float64 numpy copy of a numpy array or torch tensor (detached, on the CPU)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim not in (2, 3) or array.shape[0] < 1:
        raise ValueError(f"{name} must have shape (T, N) or (T, N, C) with T >= 1, got {array.shape}")
    return array


def _magnitudes(truth: np.ndarray, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, N) truth, prediction and error: scalars as they are, vectors (C > 1) by their norm;
    the error is the norm of the difference."""
    truth, prediction = (truth[..., None], prediction[..., None]) if truth.ndim == 2 else (truth, prediction)
    error = np.linalg.norm(truth - prediction, axis=-1)
    if truth.shape[-1] == 1:
        return truth[..., 0], prediction[..., 0], error
    return np.linalg.norm(truth, axis=-1), np.linalg.norm(prediction, axis=-1), error


def _finite_range(values: np.ndarray, floor: float | None = None) -> tuple[float, float]:
    """(low, high) over the finite entries of ``values`` (``floor``, if given, is the low end);
    a constant field gets a range of width max(|value|, 1) so that the colour scale is not empty."""
    finite = values[np.isfinite(values)] if np.isfinite(values).any() else np.zeros(1)
    low, high = (float(finite.min()) if floor is None else floor), float(finite.max())
    if high - low > 1e-12 * max(abs(low), abs(high), 1.0):
        return low, high
    width = max(abs(high), 1.0)
    return (low, low + width) if floor is not None else (low - width / 2, high + width / 2)


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="compressed")
    FigureCanvasAgg(figure)  # attaches itself to the figure
    return figure


def _triangle_figure(points: np.ndarray, cells, truth, prediction, error, field_name: str):
    """Figure with truth / prediction / |error| panels; returns it, a function setting the data of
    frame t, and the artists that change."""
    if cells is None or np.ndim(cells) != 2 or np.shape(cells)[1] != 3:
        raise ValueError(f"2D points need triangle cells (M, 3), got {None if cells is None else np.shape(cells)}")
    cells = np.asarray(cells)
    if cells.size and (cells.min() < 0 or cells.max() >= len(points)):
        raise ValueError(f"cells index nodes {cells.min()}..{cells.max()}, but there are {len(points)} points")
    triangulation = Triangulation(points[:, 0], points[:, 1], cells.astype(np.int64))
    extent = np.ptp(points, axis=0)
    panel = float(np.clip(3.6 * extent[1] / max(extent[0], 1e-300), 0.8, 6.0))  # inches
    figure = _figure(3 * 3.6 + 0.6, panel + 2.0)
    axes = figure.subplots(1, 3)
    field_range, error_range = _finite_range(truth), _finite_range(error, floor=0.0)
    images = []
    for ax, label, values, (low, high) in zip(axes, ("truth", "prediction", "|error|"), (truth, prediction, error),
                                              (field_range, field_range, error_range)):
        images.append(ax.tripcolor(triangulation, values[0], shading="gouraud", cmap=CMAP, vmin=low, vmax=high))
        ax.set_title(label)
        ax.set_aspect("equal")
        ax.set_axis_off()
    figure.colorbar(images[0], ax=list(axes[:2]), location="bottom", shrink=0.6, pad=0.05, label=field_name)
    figure.colorbar(images[2], ax=axes[2], location="bottom", shrink=0.9, pad=0.05, label=f"|error| of {field_name}")

    def draw(t: int) -> None:
        for image, values in zip(images, (truth[t], prediction[t], error[t])):
            image.set_array(values)

    return figure, draw, images


def _line_figure(x: np.ndarray, truth, prediction, field_name: str):
    """Figure with truth and prediction against x; returns it, a function setting the data of
    frame t, and the artists to redraw (the legend too, so the lines never hide it)."""
    order = np.argsort(x, kind="stable")
    figure = _figure(6.4, 4.0)
    ax = figure.add_subplot()
    true_line = ax.plot(x[order], truth[0, order], color="0.2", lw=1.5, label="truth")[0]
    predicted_line = ax.plot(x[order], prediction[0, order], "--", color="C3", lw=1.5, label="prediction")[0]
    low, high = _finite_range(truth)
    margin = 0.05 * (high - low)
    ax.set(xlim=(x.min(), x.max()) if x.max() > x.min() else None, ylim=(low - margin, high + margin),
           xlabel="x", ylabel=field_name)
    legend = ax.legend(loc="upper right", fontsize="small")

    def draw(t: int) -> None:
        true_line.set_ydata(truth[t, order])
        predicted_line.set_ydata(prediction[t, order])

    return figure, draw, [true_line, predicted_line, legend]


def _renderer(figure: Figure, draw, artists: list, headings: list[str]):
    """Function t -> RGB image of frame t: the static background is rendered once, then each
    frame redraws only ``artists`` and the suptitle ``headings[t]`` over it (blitting)."""
    artists = [*artists, figure.suptitle(headings[0])]
    canvas = figure.canvas
    for _ in range(2):  # the compressed layout settles in two passes; then it is kept fixed
        canvas.draw()
    figure.set_layout_engine("none")
    for artist in artists:
        artist.set_animated(True)  # left out of the background
    canvas.draw()
    background = canvas.copy_from_bbox(figure.bbox)

    def render(t: int) -> Image.Image:
        draw(t)
        artists[-1].set_text(headings[t])
        canvas.restore_region(background)
        for artist in artists:
            figure.draw_artist(artist)
        return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])

    return render


def _palette(samples: list[Image.Image]) -> Image.Image:
    """One 256-colour GIF palette (median cut) for all frames, from a few sample frames stacked:
    smooth colour ramps without per-frame quantisation (fast octree bands, median cut is slow)."""
    stack = Image.new("RGB", (samples[0].width, sum(image.height for image in samples)))
    for i, image in enumerate(samples):
        stack.paste(image, (0, i * image.height))
    return stack.quantize(256)


def animate_rollout(points, cells, truth, prediction, path: str | Path, *, fps: float = 10,
                    title: str | None = None, field_name: str = "field", times=None, every: int = 1) -> Path:
    """Write a GIF comparing a true and a predicted rollout, one frame per kept time step.

    Args:
        points: (N, 2) node coordinates of a triangle mesh, or (N,) / (N, 1) for a 1D rollout.
        cells: (M, 3) node indices of the triangles (2D); ignored, may be None, in 1D.
        truth: (T, N) or (T, N, C) nodal values, numpy array or torch tensor; vectors (C > 1) are
            shown by their Euclidean norm, the error by the norm of the difference.
        prediction: same shape as ``truth``.
        path: the GIF to write; its parent folder is created.
        fps: frames per second of the GIF.
        title: shown above each frame, before the frame index (and time).
        field_name: colour bar / y-axis label.
        times: (T,) time of each step, shown next to the frame index when given.
        every: keep frames 0, every, 2 * every, ... (ceil(T / every) frames).

    Returns:
        ``path`` as a Path.

    Raises:
        ValueError: shapes of truth/prediction/points disagree, or bad cells, times, every, fps.
    """
    truth, prediction = _as_array(truth, "truth"), _as_array(prediction, "prediction")
    if truth.shape != prediction.shape:
        raise ValueError(f"truth and prediction must have the same shape, got {truth.shape} and {prediction.shape}")
    points = np.asarray(points, dtype=np.float64)
    points = points[:, 0] if points.ndim == 2 and points.shape[1] == 1 else points
    if not (points.ndim == 1 or (points.ndim == 2 and points.shape[1] == 2)):
        raise ValueError(f"points must have shape (N,), (N, 1) or (N, 2), got {points.shape}")
    num_steps, num_nodes = truth.shape[:2]
    if num_nodes != len(points):
        raise ValueError(f"fields have N = {num_nodes} values per frame, but there are {len(points)} points")
    if times is not None and len(times) != num_steps:
        raise ValueError(f"times has {len(times)} entries for {num_steps} frames")
    if int(every) != every or every < 1 or not fps > 0:
        raise ValueError(f"every must be an integer >= 1 and fps > 0, got every={every}, fps={fps}")
    truth, prediction, error = _magnitudes(truth, prediction)
    if points.ndim == 1:
        figure, draw, artists = _line_figure(points, truth, prediction, field_name)
    else:
        figure, draw, artists = _triangle_figure(points, cells, truth, prediction, error, field_name)
    stamps = [f"frame {t}/{num_steps - 1}" + ("" if times is None else f", t = {float(times[t]):.4g}")
              for t in range(num_steps)]
    render = _renderer(figure, draw, artists, stamps if title is None else [f"{title}  ({s})" for s in stamps])
    kept = range(0, num_steps, int(every))
    palette = _palette([render(t) for t in sorted({kept[0], kept[len(kept) // 2], kept[-1]})])
    frames = [render(t).quantize(palette=palette, dither=Image.Dither.NONE) for t in kept]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:],
                   duration=max(int(round(1000 / fps)), 10), loop=0)
    return path
