"""Device choice and seeding, in one place."""
from __future__ import annotations

import random

import numpy as np
import torch


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """`preferred` when given ("cpu", "cuda", "cuda:1"), else CUDA when available, else the CPU."""
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {preferred!r} requested but CUDA is not available")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every CUDA device too) so a run repeats. (PYTHONHASHSEED only acts when set
    before the interpreter starts; nothing here depends on str hashing order.)"""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
