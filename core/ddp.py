"""Distributed training: the same `core.train.train` under torchrun, DistributedDataParallel over ranks.

    torchrun --standalone --nproc_per_node 2 -m core.ddp --data features.npz --out model.pt --epochs 20

`--data` is a FeatureSet written by `FeatureSet.save`. Every rank makes the same stratified train/val
split (seeded), trains its shard of every epoch (the loader pads the shards like DistributedSampler so
ranks run the same number of steps), gradients are averaged by DDP, rank 0 validates, decides early
stopping for all ranks, and writes the checkpoints. Backend: nccl on CUDA (one GPU per rank,
cuda:LOCAL_RANK), gloo on the CPU.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from core.data import FeatureSet
from core.fileio import make_dirs
from core.models import ModelConfig
from core.splits import split_train_val
from core.train import TrainConfig, save_checkpoint, train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.ddp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="FeatureSet .npz (FeatureSet.save)")
    parser.add_argument("--out", required=True, type=Path, help="final checkpoint (written by rank 0)")
    parser.add_argument("--arch", default="eastern", help="eastern, lstms, lstm_dl or conv")
    parser.add_argument("--modalities", default="visual,acoustic,textual")
    parser.add_argument("--model-json", default="{}", help='ModelConfig overrides, e.g. \'{"atoms": 50}\'')
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="per rank")
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    parser.add_argument("--patience", type=int, default=TrainConfig.patience)
    parser.add_argument("--val-fraction", type=float, default=TrainConfig.val_fraction)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per rank")
    parser.add_argument("--resume-checkpoint", type=Path, default=None,
                        help="write a resumable checkpoint here every epoch, and resume from it if it exists")
    parser.add_argument("--rank-states", type=Path, default=None,
                        help="folder where every rank writes its final weights (to check they agree)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = torch.cuda.is_available()
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world_size)
    try:
        data = FeatureSet.load(args.data)
        labelled = np.flatnonzero(data.labels >= 0)
        train_idx, val_idx = split_train_val(data.labels, labelled, args.val_fraction, seed=args.seed)
        model_cfg = ModelConfig(
            arch=args.arch, modalities=tuple(m.strip() for m in args.modalities.split(",") if m.strip()),
            visual_dim=int(data.visual.shape[-1]), acoustic_dim=int(data.acoustic.shape[-1]),
            text_dim=int(data.text.shape[-1]), num_classes=data.num_classes, **json.loads(args.model_json),
        )
        threads = args.threads or max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
        train_cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                patience=args.patience, val_fraction=args.val_fraction,
                                device=f"cuda:{local_rank}" if use_cuda else "cpu", num_threads=threads)
        resume = args.resume_checkpoint if args.resume_checkpoint and args.resume_checkpoint.is_file() else None

        def report(event: dict) -> None:
            if rank == 0 and event["kind"] == "epoch":
                print(json.dumps({k: v for k, v in event.items() if k != "kind"}), flush=True)

        result = train(model_cfg, train_cfg, data, train_idx, val_idx, progress=report,
                       checkpoint_path=args.resume_checkpoint, resume_from=resume, distributed=True)
        if args.rank_states is not None:
            make_dirs(args.rank_states)
            torch.save({k: v.cpu() for k, v in result.model.state_dict().items()},
                       args.rank_states / f"rank{rank}.pt")
        if rank == 0:
            meta = {"class_names": data.class_names, "history": result.history,
                    "metrics": {"best_epoch": result.best_epoch, "best_val_macro_f1": result.best_val_macro_f1},
                    "train_config": {**train_cfg.to_dict(), "world_size": world_size}}
            save_checkpoint(args.out, result.model, model_cfg, meta)
            print(f"rank 0: best epoch {result.best_epoch}, val Macro-F {result.best_val_macro_f1}; wrote {args.out}",
                  flush=True)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
