"""Fitting recipes: a paper's whole fitting procedure as one named, visible object.

A recipe fixes the objective (Huber loss with a δ, or least squares, on the form's residuals:
log-space for losses), the starting grid, point filters, whether parameters are bounded, and
the bootstrap scheme. ``kb fit --recipe NAME`` picks one; ``standard`` is the default.

- ``standard`` (ours): Huber δ = 1e-3 on log residuals (the Hoffmann/Epoch choice, robust to
  outliers), the form's own grid (675 starts for Chinchilla: the region of Hoffmann et al.'s
  grid at a coarser step), L-BFGS-B with the form's bounds, all points, bootstrap by run
  when points carry a ``run_key`` shared by several points (curves), else by point.
- ``hoffmann`` (Hoffmann et al. 2022, appendix D.2): Huber δ = 1e-3 on log loss, L-BFGS from
  their grid (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25}), all points.
- ``epoch`` (Besiroglu et al. 2024, arXiv:2404.10102, section 2 and their notebook
  ``data_analysis.ipynb``): as ``hoffmann`` (same 4,500-start grid, unbounded L-BFGS) but the
  five highest-loss points are dropped first; bootstrap over points (they used 4,000 resamples).
- ``least_squares``: ordinary least squares on the same residuals, for comparison.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kb.errors import UnknownLawError

__all__ = ["RECIPES", "Recipe", "get_recipe"]

_HOFFMANN_GRID: dict[str, tuple[float, ...]] = {
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
}


class Recipe(BaseModel):
    """A fitting procedure: objective, δ, start grid, filters, bounds and bootstrap scheme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    loss: str = Field("huber", description="'huber' or 'least_squares' on the residuals")
    delta: float = Field(1e-3, description="Huber δ, in residual units (log units for losses)")
    grids: dict[str, dict[str, tuple[float, ...]]] = Field(
        default_factory=dict, description="law form -> parameter -> starting values (override)"
    )
    drop_highest: int = Field(0, description="drop this many highest-value points before fitting")
    bounded: bool = Field(True, description="respect the form's parameter bounds")
    bootstrap: str = Field(
        "auto", description="'points', 'runs', or 'auto' (runs when points share a run_key)"
    )
    default_boot: int = Field(0, description="bootstrap resamples the source paper used")
    source: str = ""


RECIPES: dict[str, Recipe] = {
    "standard": Recipe(
        name="standard",
        description=(
            "Huber δ=1e-3 on log residuals, the form's start grid, bounded L-BFGS-B, all points; "
            "bootstrap by run for curves, else by point"
        ),
        source="this project (objective as Hoffmann et al. 2022 / Besiroglu et al. 2024)",
    ),
    "hoffmann": Recipe(
        name="hoffmann",
        description="Huber δ=1e-3 on log loss, L-BFGS from their 4,500-point grid, all points",
        grids={"chinchilla": _HOFFMANN_GRID},
        bounded=False,
        bootstrap="points",
        source="Hoffmann et al. 2022, arXiv:2203.15556, appendix D.2",
    ),
    "epoch": Recipe(
        name="epoch",
        description=(
            "drop the 5 highest-loss points, Huber δ=1e-3 on log loss, unbounded L-BFGS from "
            "the 4,500-point grid, bootstrap over points"
        ),
        grids={"chinchilla": _HOFFMANN_GRID},
        drop_highest=5,
        bounded=False,
        bootstrap="points",
        default_boot=4000,
        source="Besiroglu et al. 2024, arXiv:2404.10102, section 2; analyzing-chinchilla notebook",
    ),
    "least_squares": Recipe(
        name="least_squares",
        description="ordinary least squares on the residuals, the form's grid, all points",
        loss="least_squares",
        source="textbook",
    ),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; ``UnknownLawError`` listing the known ones otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise UnknownLawError(
            f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}"
        ) from None
