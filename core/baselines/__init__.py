"""Shallow baselines of EASTERN's Table 1: DMDL, TMDL (Bahrampour et al. 2016) and TRUMANN (Zhang et al. 2016)."""
from core.baselines.common import pool_sequences
from core.baselines.dmdl import DMDL
from core.baselines.tmdl import TMDL
from core.baselines.tree import flat_tree, load_tree
from core.baselines.trumann import TRUMANN

__all__ = ["DMDL", "TMDL", "TRUMANN", "flat_tree", "load_tree", "pool_sequences"]
