"""Demo corpus generator: real 6-s mp4 micro-videos of 22 Foursquare venues, with captions and labels.

`generate_corpus(out_dir, n, seed)` writes `n` H.264/AAC mp4 files (320x240, 12 fps; about 10% have no
audio track) and `manifest.csv` (`filename,caption,venue`). Each video is an ordered sequence of
procedural shots, sound events and a Vine-like caption drawn from its venue's profile
(`core.corpus.profiles`), with nuisance, random content, confusable pairs and ~3% label noise, so that
each modality is informative but insufficient and the shot order matters. Deterministic per seed,
resumable, optionally parallel. Pure: imports neither app/ nor db/.
"""
from core.corpus.generate import (
    GENERATOR_VERSION,
    CorpusError,
    CorpusItem,
    corpus_items,
    generate_corpus,
    render_audio,
    render_frames,
    venue_frequencies,
)
from core.corpus.profiles import DEMO_VENUES

__all__ = [
    "DEMO_VENUES",
    "GENERATOR_VERSION",
    "CorpusError",
    "CorpusItem",
    "corpus_items",
    "generate_corpus",
    "render_audio",
    "render_frames",
    "venue_frequencies",
]
