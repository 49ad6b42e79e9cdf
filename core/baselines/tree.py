"""The Foursquare venue tree of VENUE-188 (Zhang et al., ACM MM 2016) restricted to a corpus's venues.

TRUMANN's tree-guided group lasso needs the tree as groups of task (class) indices with node weights e_v.
The file lists 1-based VENUE-188 ids per node; ``load_tree`` maps them to 0-based indices into the given
venue names, drops nodes left empty, and merges nodes that became identical by adding their weights: the
restricted penalty then equals the full tree's penalty evaluated with zero weights for the absent venues.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path


def _key(name: str) -> str:
    return " ".join(name.casefold().split())


def flat_tree(n_tasks: int, root_weight: float = 1.0) -> tuple[list[list[int]], list[float]]:
    """A two-level tree: every task a leaf (weight 1) under one root holding all tasks."""
    groups = [[t] for t in range(n_tasks)]
    weights = [1.0] * n_tasks
    if n_tasks > 1:
        groups.append(list(range(n_tasks)))
        weights.append(root_weight)
    return groups, weights


def load_tree(path: str | Path, venue_names: Sequence[str]) -> tuple[list[list[int]], list[float]]:
    """(groups of 0-based indices into ``venue_names``, node weights) from a venue-tree JSON file.

    Names match case-insensitively. If any name is not in the file, the whole tree falls back to
    ``flat_tree`` (with a warning): a partial tree would regularise known and unknown venues differently.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if len(data["tree_groups"]) != len(data["tree_group_weights"]):
        raise ValueError(f"{path}: tree_groups and tree_group_weights differ in length")
    index_of = {_key(name): i for i, name in enumerate(venue_names)}
    if len(index_of) != len(venue_names):
        raise ValueError(f"duplicate venue names in {list(venue_names)}")
    file_ids = {_key(v["name"]): int(v["id"]) for v in data["venues"]}
    missing = [name for name in venue_names if _key(name) not in file_ids]
    if missing:
        warnings.warn(f"venues {missing} are not in {path}; using a flat tree", stacklevel=2)
        return flat_tree(len(venue_names))
    task_of_id = {file_ids[k]: i for k, i in index_of.items()}
    merged: dict[tuple[int, ...], float] = {}
    for group, weight in zip(data["tree_groups"], data["tree_group_weights"], strict=True):
        tasks = tuple(sorted({task_of_id[v] for v in group if v in task_of_id}))
        if tasks:
            merged[tasks] = merged.get(tasks, 0.0) + float(weight)
    return [list(g) for g in merged], list(merged.values())
