"""The extraction pipeline of core.features.pipeline on a Ray cluster.

Decoding (decode_fast + librosa + tokens) runs as Ray tasks on any node; the frame encoder runs in a pool
of actors (one GPU each where the cluster has GPUs, else one per node) that encode batches gathered
across videos and write every video's features with FeatureStore.put (atomic) into the store root,
which must be storage every node sees at the same path (NFS, a shared disk). The driver only schedules
and hands back one Outcome per video; it records them in the database.

    connect("local")            # a Ray on this machine, stopped again when the run ends
    connect("ray://head:10001") # or "head:6379" / "auto": an existing cluster
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.features.pipeline import Job, Outcome, Prepared, encode_and_store, gather_frames, prepare

ROOT = Path(__file__).resolve().parents[2]  # the checkout: workers import core from here
FORWARDED_ENV = ("NUMBA_CACHE_DIR", "EASTERN_HOME")


@contextmanager
def connect(address: str, *, num_cpus: int | None = None):
    """Ray for the duration of the block: `local` starts one here (stopped afterwards), any other address
    joins that cluster; an already initialised Ray (a test, a notebook) is used as it is."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.update({k: os.environ[k] for k in FORWARDED_ENV if k in os.environ})
    if address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, runtime_env={"env_vars": env},
                 logging_level="WARNING", log_to_driver=False)
    else:
        ray.init(address=address, runtime_env={"env_vars": env}, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


class _EncoderActor:
    """One frame encoder (on the GPU Ray assigned it, if any) writing into the shared feature store."""

    def __init__(self, encoder: str, weights: str | None, store_root: str, version: str):
        from core.features.encoders import make_encoder
        from core.features.extract import FeatureExtractor
        from core.features.store import FeatureStore

        self.encoder = make_encoder(encoder, weights=weights)
        have = FeatureExtractor(self.encoder).version
        if have != version:
            raise ValueError(f"this node's extractor is {have}, the driver's {version}: install the same code")
        self.store = FeatureStore(store_root, version)

    def device(self) -> str:
        return str(self.encoder.device)

    def gather_frames(self) -> int:
        return gather_frames(self.encoder)

    def encode_and_store(self, *batch: Prepared) -> list[Outcome]:
        return encode_and_store(self.encoder, self.store, list(batch))


def run_ray(jobs: Iterable[Job], *, encoder: str, weights: str | None, store_root: str | Path,
            version: str, input_size: tuple[int, int], actors: int | None = None,
            batch_frames: int | None = None, should_stop: Callable[[], bool] | None = None) -> Iterator[Outcome]:
    """Extract `jobs` on the connected Ray cluster; yields each video's Outcome once its features are stored.
    `batch_frames`: frames gathered per encoder call (default: what the actors' encoder asks for, as locally)."""
    import ray

    from core.features.acoustic import warm_up

    warm_up()  # fills this node's numba cache before tasks read it (see core.features.pipeline)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    nodes = max(1, sum(1 for n in ray.nodes() if n.get("Alive")))
    n_actors = actors or (gpus if gpus else nodes)
    actor_cls = ray.remote(num_gpus=1 if gpus else 0, num_cpus=1)(_EncoderActor)
    pool = [actor_cls.remote(encoder, weights, str(store_root), version) for _ in range(n_actors)]
    decode = ray.remote(num_cpus=1)(prepare)
    if batch_frames is None:
        batch_frames = ray.get(pool[0].gather_frames.remote())
    per_batch = max(1, -(-batch_frames // 12))  # videos per encoder call
    max_ahead = 2 * int(resources.get("CPU", 1)) + 2 * n_actors * per_batch  # bounded object-store use

    todo = iter(jobs)
    exhausted = False
    decoding: set = set()
    ready: list = []  # refs of finished Prepared objects, not yet handed to an encoder
    encoding: dict = {}  # result ref -> actor index
    busy = [0] * n_actors
    try:
        while True:
            while not exhausted and len(decoding) + len(ready) < max_ahead:
                job = None if (should_stop and should_stop()) else next(todo, None)
                if job is None:
                    exhausted = True
                else:
                    decoding.add(decode.remote(job, input_size))
            while ready and (len(ready) >= per_batch or not decoding) and min(busy) < 2:
                actor = busy.index(min(busy))
                batch, ready = ready[:per_batch], ready[per_batch:]
                encoding[pool[actor].encode_and_store.remote(*batch)] = actor  # refs resolve in the actor
                busy[actor] += 1
            waitable = list(decoding) + list(encoding)
            if not waitable:
                break
            done, _ = ray.wait(waitable, num_returns=1)
            for ref in done:
                if ref in decoding:
                    decoding.discard(ref)
                    ready.append(ref)
                else:
                    busy[encoding.pop(ref)] -= 1
                    yield from ray.get(ref)
    finally:
        for ref in decoding:
            ray.cancel(ref)
        for actor in pool:
            ray.kill(actor)
