"""Training (Adam + softmax cross-entropy, early stopping on validation Macro-F), checkpoints, prediction.

    result = train(ModelConfig(), TrainConfig(epochs=20), data, train_idx, val_idx,
                   progress=print, checkpoint_path="run/resume.pt")
    probs = predict_proba(result.model, data, test_idx)               # (N, C)
    save_checkpoint("model.pt", result.model, model_cfg, meta)        # self-describing
    model, model_cfg, meta = load_checkpoint("model.pt")

The same `train` runs under torchrun (DistributedDataParallel): see core/ddp.py.

Our choices where the paper is silent (section 5.1 names only Adam and softmax cross-entropy):
lr 1e-3 (Adam's default), batch 64, up to 20 epochs, early stopping after 5 epochs without a better
validation Macro-F (the best epoch's weights are kept), gradient-norm clipping at 5 (LSTMs).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.data import FeatureSet, input_stats, make_loader
from core.device import pick_device, seed_everything
from core.evaluate import scores
from core.fileio import atomic_write
from core.models import ModelConfig, build_model, registry
from core.splits import split_train_val  # noqa: F401 - lives in core.splits, importable from here as before

CHECKPOINT_FORMAT = "eastern-checkpoint"
CHECKPOINT_VERSION = 1

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass
class TrainConfig:
    """How to train. `patience` None = never stop early (after `patience` epochs without a better
    validation Macro-F the run ends, keeping the best epoch); `device` None = CUDA when available;
    `amp` (float16 autocast + GradScaler) applies on CUDA only; `num_threads` sets torch's CPU threads;
    `code_l1` > 0 adds code_l1 * mean(|atom codes|) to the loss (a sparsity ablation; the paper's
    objective is plain cross-entropy, the default 0)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    patience: int | None = 5
    val_fraction: float = 0.1
    device: str | None = None
    amp: bool = True
    grad_clip: float | None = 5.0
    num_threads: int | None = None
    num_workers: int = 0
    eval_batch_size: int = 256
    code_l1: float = 0.0

    def __post_init__(self) -> None:
        if self.code_l1 < 0:
            raise ValueError(f"code_l1 must be >= 0, got {self.code_l1}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """The model with its best-epoch weights (eval mode, on the training device) and the run's record."""

    model: nn.Module
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0  # 0 = no epoch finished
    best_val_macro_f1: float | None = None  # None without validation data
    stopped_early: bool = False
    cancelled: bool = False


# ------------------------------------------------------------------------------ training


def train(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    data: FeatureSet,
    train_idx: np.ndarray,
    val_idx: np.ndarray | None,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_path: str | Path | None = None,
    resume_from: str | Path | None = None,
    eval_sets: Mapping[str, np.ndarray] | None = None,
    distributed: bool = False,
) -> TrainResult:
    """Train end to end; keep the epoch with the best validation Macro-F.

    progress(event) gets {"kind": "step", epoch, step, steps_per_epoch, loss} after every step and
    {"kind": "epoch", **history_entry} after every epoch. should_stop() is polled before every step;
    True ends the run cleanly (cancelled=True, best weights so far). With checkpoint_path a resumable
    checkpoint is written atomically after every epoch; resume_from continues one. eval_sets
    (name -> rows) adds {name}_micro_f1 / {name}_macro_f1 to every history entry (Figure 6 curves).
    distributed=True: inside an initialised process group, DDP + per-rank shards, rank 0 validates and
    writes checkpoints (all ranks must pass the same should_stop-or-None).
    """
    train_idx = np.asarray(train_idx, dtype=np.int64)
    val_idx = np.zeros(0, dtype=np.int64) if val_idx is None else np.asarray(val_idx, dtype=np.int64)
    eval_sets = {name: np.asarray(rows, dtype=np.int64) for name, rows in (eval_sets or {}).items()}
    _check_labels(data, model_cfg, {"train": train_idx, "val": val_idx, **eval_sets})
    if len(train_idx) == 0:
        raise ValueError("no training rows")
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)

    rank, world_size = _dist_rank_world(distributed)
    device = pick_device(train_cfg.device)
    seed_everything(train_cfg.seed)
    if train_cfg.code_l1 and not registry.spec(model_cfg.arch).has_atoms:
        raise ValueError(f"code_l1 needs atom codes; the {model_cfg.arch!r} architecture has no dictionary layer")
    model = build_model(model_cfg)
    model.input_norm.set_stats(input_stats(data, train_idx, model_cfg.modalities))  # training rows only
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    use_amp = bool(train_cfg.amp and device.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    history: list[dict[str, Any]] = []
    best = {"epoch": 0, "macro_f1": float("-inf"), "state": None, "bad_epochs": 0}
    start_epoch = 1
    if resume_from is not None:
        start_epoch, history, best = _resume(resume_from, model_cfg, model, optimizer, scaler, device)

    net: nn.Module = model
    if distributed:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    loader = make_loader(data, train_idx, train_cfg.batch_size, shuffle=True, seed=train_cfg.seed,
                         modalities=model_cfg.modalities, rank=rank, world_size=world_size,
                         num_workers=train_cfg.num_workers)
    steps_per_epoch = len(loader)
    stopped_early = cancelled = False
    for epoch in range(start_epoch, train_cfg.epochs + 1):
        if best["bad_epochs"] >= (train_cfg.patience or float("inf")):
            stopped_early = True  # a resumed run that had already run out of patience
            break
        started = time.perf_counter()
        loader.sampler.set_epoch(epoch)
        net.train()
        loss_sum = torch.zeros((), device=device)
        seen = 0
        for step, batch in enumerate(loader, start=1):
            if should_stop is not None and _any_rank(bool(should_stop()), distributed, device):
                cancelled = True
                break
            visual, acoustic, text, text_lengths, labels = _to_device(batch, device)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                if train_cfg.code_l1:
                    logits, inter = net(visual, acoustic, text, text_lengths, return_intermediates=True)
                else:
                    logits = net(visual, acoustic, text, text_lengths)  # (B, C)
            loss = F.cross_entropy(logits.float(), labels)
            if train_cfg.code_l1:  # ReLU codes are >= 0, so |codes| = codes
                loss = loss + train_cfg.code_l1 * inter["atom_codes"].float().abs().mean()
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if train_cfg.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), train_cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach() * len(labels)
            seen += len(labels)
            if progress is not None:
                progress({"kind": "step", "epoch": epoch, "step": step, "steps_per_epoch": steps_per_epoch,
                          "loss": float(loss.detach())})
        if cancelled:
            break

        train_loss = _mean_over_ranks(loss_sum, seen, distributed, device)
        train_seconds = time.perf_counter() - started
        entry: dict[str, Any] | None = None
        if rank == 0:
            entry = {"epoch": epoch, "train_loss": train_loss,
                     **_validation_entry(model, data, val_idx, eval_sets, train_cfg.eval_batch_size),
                     "train_seconds": train_seconds}
            entry["seconds"] = time.perf_counter() - started
        if distributed:
            entry = _broadcast(entry)
        history.append(entry)

        score = entry["val_macro_f1"]  # None without validation rows: every epoch counts as the best
        if score is None or score > best["macro_f1"]:
            best = {"epoch": epoch, "macro_f1": float("-inf") if score is None else score, "bad_epochs": 0,
                    "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}}
        else:
            best["bad_epochs"] += 1
        if checkpoint_path is not None and rank == 0:
            _write_training_checkpoint(checkpoint_path, model, model_cfg, train_cfg, optimizer, scaler, epoch,
                                       history, best, data.class_names)
        if progress is not None:
            progress({"kind": "epoch", **entry})
        if train_cfg.patience is not None and best["bad_epochs"] >= train_cfg.patience:
            stopped_early = epoch < train_cfg.epochs
            break

    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.eval()
    best_macro = float(best["macro_f1"])
    return TrainResult(model=model, history=history, best_epoch=best["epoch"],
                       best_val_macro_f1=best_macro if np.isfinite(best_macro) else None,
                       stopped_early=stopped_early, cancelled=cancelled)


def _check_labels(data: FeatureSet, cfg: ModelConfig, parts: Mapping[str, np.ndarray]) -> None:
    for name, rows in parts.items():
        if len(rows) == 0:
            continue
        if rows.min() < 0 or rows.max() >= len(data):
            raise IndexError(f"{name} rows out of range 0..{len(data) - 1}")
        labels = data.labels[rows]
        if labels.min() < 0 or labels.max() >= cfg.num_classes:
            raise ValueError(f"{name} rows need labels in 0..{cfg.num_classes - 1} (the model's num_classes), "
                             f"found {labels.min()}..{labels.max()}")


def _to_device(batch: tuple, device: torch.device) -> tuple:
    return tuple(None if t is None else t.to(device, non_blocking=True) for t in batch)


def _validation_entry(model: nn.Module, data: FeatureSet, val_idx: np.ndarray,
                      eval_sets: Mapping[str, np.ndarray], batch_size: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"val_loss": None, "val_micro_f1": None, "val_macro_f1": None, "val_accuracy": None}
    if len(val_idx):
        logits = _predict_logits(model, data, val_idx, batch_size)
        labels = data.labels[val_idx]
        s = scores(labels, logits.argmax(1), logits.shape[1])
        entry.update(val_loss=float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels))),
                     val_micro_f1=s["micro_f1"], val_macro_f1=s["macro_f1"], val_accuracy=s["accuracy"])
    for name, rows in eval_sets.items():
        logits = _predict_logits(model, data, rows, batch_size)
        s = scores(data.labels[rows], logits.argmax(1), logits.shape[1])
        entry[f"{name}_micro_f1"], entry[f"{name}_macro_f1"] = s["micro_f1"], s["macro_f1"]
    return entry


# ------------------------------------------------------------------------------ distributed helpers


def _dist_rank_world(distributed: bool) -> tuple[int, int]:
    if not distributed:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        raise RuntimeError("distributed=True needs an initialised process group (see core/ddp.py)")
    return dist.get_rank(), dist.get_world_size()


def _any_rank(flag: bool, distributed: bool, device: torch.device) -> bool:
    if not distributed:
        return flag
    import torch.distributed as dist

    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def _mean_over_ranks(loss_sum: torch.Tensor, seen: int, distributed: bool, device: torch.device) -> float:
    if distributed:
        import torch.distributed as dist

        totals = torch.stack([loss_sum.float(), torch.tensor(float(seen), device=device)])
        dist.all_reduce(totals)
        return float(totals[0] / totals[1].clamp(min=1))
    return float(loss_sum) / max(seen, 1)


def _broadcast(obj: Any) -> Any:
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


# ------------------------------------------------------------------------------ checkpoints


def _plain(obj: Any) -> Any:
    """Meta made of what torch.load(weights_only=True) accepts: dicts, lists, str, numbers, tensors."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path | torch.device):
        return str(obj)
    return obj


def _atomic_save(payload: dict, path: str | Path) -> None:
    atomic_write(path, lambda fh: torch.save(payload, fh))


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


def save_checkpoint(path: str | Path, model: nn.Module, model_cfg: ModelConfig, meta: Mapping[str, Any]) -> None:
    """Write weights + model config + meta (class_names, feature_version, text_embedder_state, metrics,
    history, train_config: whatever the caller has) to one file, atomically. load_checkpoint rebuilds
    the model from the file alone."""
    state = {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}
    _atomic_save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model_config": model_cfg.to_dict(),
                  "state_dict": state, "meta": _plain(dict(meta))}, path)


def _read(path: str | Path, map_location: Any = None) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which one
        raise ValueError(f"{path}: not a readable checkpoint ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not an EASTERN checkpoint")
    if payload.get("version", 0) > CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint version {payload['version']} is newer than this code")
    return payload


def load_checkpoint(path: str | Path, map_location: Any = None) -> tuple[nn.Module, ModelConfig, dict]:
    """(model in eval mode, its ModelConfig, meta) from a file written by save_checkpoint (or a
    training checkpoint, which holds the weights of its last epoch)."""
    payload = _read(path, map_location)
    model_cfg = ModelConfig.from_dict(payload["model_config"])
    model = build_model(model_cfg)
    state = dict(payload["state_dict"])
    # checkpoints written before input standardisation existed read raw inputs: keep those (identity) buffers
    for key, value in model.state_dict().items():
        if key.startswith("input_norm.") and key not in state:
            state[key] = value
    model.load_state_dict(state)
    if map_location is not None:
        model.to(map_location)
    return model.eval(), model_cfg, dict(payload.get("meta", {}))


def _write_training_checkpoint(path, model, model_cfg, train_cfg, optimizer, scaler, epoch, history, best,
                               class_names) -> None:
    meta = {"class_names": list(class_names), "history": history, "train_config": _plain(train_cfg.to_dict()),
            "metrics": {"best_epoch": best["epoch"],
                        "best_val_macro_f1": best["macro_f1"] if np.isfinite(best["macro_f1"]) else None}}
    resume = {
        "epoch": epoch, "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
        "best_epoch": best["epoch"], "best_macro_f1": best["macro_f1"], "best_state": best["state"],
        "bad_epochs": best["bad_epochs"], "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "model_config": model_cfg.to_dict(),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "meta": _plain(meta), "resume": resume}
    _atomic_save(payload, path)


def _resume(path, model_cfg, model, optimizer, scaler, device) -> tuple[int, list, dict]:
    payload = _read(path)
    if "resume" not in payload:
        raise ValueError(f"{path}: a final model checkpoint, not a training checkpoint: cannot resume from it")
    saved_cfg = ModelConfig.from_dict(payload["model_config"])
    if saved_cfg != model_cfg:
        raise ValueError(f"{path}: was trained with {saved_cfg}, not {model_cfg}")
    resume = payload["resume"]
    model.load_state_dict(payload["state_dict"])
    optimizer.load_state_dict(resume["optimizer"])
    scaler.load_state_dict(resume["scaler"])
    torch.set_rng_state(resume["torch_rng"])
    if torch.cuda.is_available() and resume["cuda_rng"]:
        torch.cuda.set_rng_state_all(resume["cuda_rng"])
    best = {"epoch": resume["best_epoch"], "macro_f1": resume["best_macro_f1"], "state": resume["best_state"],
            "bad_epochs": resume["bad_epochs"]}
    return int(resume["epoch"]) + 1, list(payload["meta"]["history"]), best


# ------------------------------------------------------------------------------ prediction


@torch.no_grad()
def _predict_batches(model: nn.Module, data: FeatureSet, idx, batch_size: int, intermediates: bool):
    model = _unwrap(model)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        for batch in make_loader(data, idx, batch_size, modalities=model.cfg.modalities):
            visual, acoustic, text, text_lengths, _labels = _to_device(batch, device)
            yield model(visual, acoustic, text, text_lengths, return_intermediates=intermediates)
    finally:
        model.train(was_training)


def _predict_logits(model: nn.Module, data: FeatureSet, idx, batch_size: int = 256) -> np.ndarray:
    chunks = [logits.float().cpu().numpy() for logits in _predict_batches(model, data, idx, batch_size, False)]
    return np.concatenate(chunks) if chunks else np.zeros((0, _unwrap(model).cfg.num_classes), np.float32)


def predict_proba(model: nn.Module, data: FeatureSet, idx: np.ndarray | None = None,
                  batch_size: int = 256) -> np.ndarray:
    """Softmax probabilities (N, C) float32 for the rows idx (all rows when None), in that order."""
    logits = torch.from_numpy(_predict_logits(model, data, idx, batch_size))
    return torch.softmax(logits, dim=1).numpy()


def predict_intermediates(model: nn.Module, data: FeatureSet, idx: np.ndarray | None = None,
                          batch_size: int = 256) -> dict[str, Any]:
    """One pass over the rows: probs (N, C), atom_codes (N, |M|, K) (not for lstms), hidden and common
    ({modality: (N, H_m)} / {modality: (N, n)}), modalities (list). float32 NumPy arrays."""
    parts: dict[str, Any] = {"probs": [], "atom_codes": [], "hidden": {}, "common": {}}
    modalities = list(_unwrap(model).cfg.modalities)
    for logits, inter in _predict_batches(model, data, idx, batch_size, True):
        parts["probs"].append(torch.softmax(logits.float(), dim=1).cpu().numpy())
        if "atom_codes" in inter:
            parts["atom_codes"].append(inter["atom_codes"].float().cpu().numpy())
        for key in ("hidden", "common"):
            for m, tensor in inter.get(key, {}).items():
                parts[key].setdefault(m, []).append(tensor.float().cpu().numpy())
    model_cfg = _unwrap(model).cfg
    out: dict[str, Any] = {
        "probs": np.concatenate(parts["probs"]) if parts["probs"] else np.zeros((0, model_cfg.num_classes),
                                                                                 np.float32),
        "hidden": {m: np.concatenate(v) for m, v in parts["hidden"].items()},
        "common": {m: np.concatenate(v) for m, v in parts["common"].items()},
        "modalities": modalities,
    }
    if parts["atom_codes"]:
        out["atom_codes"] = np.concatenate(parts["atom_codes"])
    elif registry.spec(model_cfg.arch).has_atoms:
        out["atom_codes"] = np.zeros((0, len(modalities), model_cfg.atoms), np.float32)
    if not out["common"]:
        del out["common"]
    return out

