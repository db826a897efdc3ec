"""Plots of meshes and fields (matplotlib, Agg, never shown)."""
from .mesh_plot import plot_mesh

__all__ = ["plot_mesh"]
