"""The confusion figure is readable: one order on both axes, cells of at least 18 px, the diagonal outlined,
counts and row shares on every cell, and 188 venues shown as windows that keep the cell size."""
from __future__ import annotations

import numpy as np
import pytest

from app.ui import figures
from core.venues import venue188_names


def _matrix(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.poisson(0.3, size=(n, n))
    m[np.arange(n), np.arange(n)] += rng.integers(1, 9, size=n)
    return m


@pytest.mark.parametrize("n", [22, 188])
@pytest.mark.parametrize("by", ["frequency", "tree"])
def test_axes_share_one_order_and_cells_are_big_enough(n: int, by: str) -> None:
    names = venue188_names()[:n]
    matrix = _matrix(n)
    order = figures.confusion_order(matrix, names, by=by)
    assert sorted(order) == list(range(n))
    parts = figures.windows(order)
    assert all(len(p) <= figures.MATRIX_WINDOW for p in parts) and sum(map(len, parts)) == n
    fig = figures.confusion_figure(matrix, names, indices=parts[0])
    x, y = list(fig.layout.xaxis.categoryarray), list(fig.layout.yaxis.categoryarray)
    assert x == y == [names[i] for i in parts[0]]
    width, height = figures.cell_px(fig)
    assert width >= 18 and height >= 18
    # the figure fits a 1440 px screen beside Streamlit's sidebar (about 1,100 px of main column)
    assert fig.layout.width <= 1100


def test_frequency_order_puts_the_largest_rows_first() -> None:
    names = ["a", "b", "c"]
    matrix = [[1, 0, 0], [5, 4, 1], [0, 2, 0]]
    assert figures.confusion_order(matrix, names, by="frequency") == [1, 2, 0]  # rows of 10, 2, 1 videos


def test_tree_order_keeps_siblings_together() -> None:
    names = venue188_names()
    order = figures.confusion_order(np.eye(len(names)), names, by="tree")
    keys = figures._tree_keys()
    first = [keys[names[i]][0] if keys[names[i]] else -1 for i in order]
    # each top-level node of the tree is one contiguous run along the axis
    runs = [g for k, g in enumerate(first) if k == 0 or g != first[k - 1]]
    assert len(runs) == len(set(runs))


def test_cells_carry_counts_and_row_shares_and_the_diagonal_is_outlined() -> None:
    names = ["Garden", "Speakeasy", "General Entertainment"]
    matrix = np.array([[3, 1, 0], [2, 2, 0], [0, 0, 0]])
    raw = figures.confusion_figure(matrix, names)
    diagonal, cells = raw.data
    assert list(diagonal.x) == list(diagonal.y) == names  # every venue's own cell, even an empty one
    assert diagonal.marker.symbol == "square-open"
    by_cell = {(int(i), int(j)): (c, s) for i, j, c, s in cells.customdata}
    assert by_cell[(1, 0)] == (2, 0.5) and by_cell[(0, 0)] == (3, 0.75)
    assert (2, 2) not in by_cell  # empty cells are not drawn
    assert list(cells.text) == [f"{int(by_cell[(int(i), int(j))][0])}" for i, j, *_ in cells.customdata]
    shares = figures.confusion_figure(matrix, names, normalised=True).data[1]
    assert sorted(shares.text) == sorted(["75", "25", "50", "50"])
    assert shares.marker.cmax == 1.0 and raw.data[1].marker.cmax == 3


def test_long_names_are_cut_on_the_axes_but_stay_distinct() -> None:
    names = ["College Basketball Court (north side)", "College Basketball Court (south side)"]
    fig = figures.confusion_figure(np.eye(2), names)
    assert list(fig.layout.xaxis.tickvals) == names  # categories keep the full, distinct names
    assert all(len(t) <= figures.TICK_CHARS for t in fig.layout.xaxis.ticktext)


def test_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown order"):
        figures.confusion_order(np.eye(2), ["a", "b"], by="alphabet")
