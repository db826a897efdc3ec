"""Plots of meshes and fields (matplotlib, Agg, never shown)."""
from .animation import animate_rollout
from .mesh_plot import plot_mesh

__all__ = ["animate_rollout", "plot_mesh"]
