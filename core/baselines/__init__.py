"""Shallow baselines of EASTERN's Table 1: DMDL, TMDL (Bahrampour et al. 2016), TMDL with class-specific
dictionaries (the paper's description of its ref [8]) and TRUMANN (Zhang et al. 2016).

    model = build_baseline("trumann", class_names, seed=0)     # TRUMANN gets the venue tree of class_names
    model.fit(X_train, y_train, X_val, y_val)                   # X: {'visual': (N, D), ...}, pooled
    save_baseline(path, model, meta); model, meta = load_baseline(path)
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from core.baselines.common import ShallowBaseline, load_baseline, pool_sequences, save_baseline
from core.baselines.dmdl import DMDL
from core.baselines.tmdl import TMDL
from core.baselines.tmdl_cs import ClassTMDL
from core.baselines.tree import flat_tree, load_tree
from core.baselines.trumann import TRUMANN
from core.models import registry


def build_baseline(arch: str, class_names: Sequence[str], *, seed: int = 0, **params: Any) -> ShallowBaseline:
    """An unfitted baseline for these classes; TRUMANN gets the Foursquare tree restricted to them.

    The tree falls back to a flat one (leaves under one root) when a class is not a VENUE-188 venue;
    ``model.tree_source`` says which ('venue188', 'flat' or 'given' when ``groups`` is passed).
    """
    if not registry.is_registered(arch, "shallow"):
        raise ValueError(f"unknown shallow baseline {arch!r}; known: {sorted(registry.names('shallow'))}")
    tree = None
    if arch == "trumann":
        tree = "given"
        if "groups" not in params:
            from core.venues import VENUE188_PATH

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                groups, weights = load_tree(VENUE188_PATH, list(class_names))
            params.update(groups=groups, group_weights=weights)
            tree = "flat" if caught else "venue188"
    model = registry.create_baseline(arch, n_classes=len(class_names), seed=seed, **params)
    model.tree_source = tree
    return model


__all__ = ["DMDL", "TMDL", "TRUMANN", "ClassTMDL", "ShallowBaseline", "build_baseline", "flat_tree",
           "load_baseline", "load_tree", "pool_sequences", "save_baseline"]
