"""The demo corpus generator: deterministic per seed, long-tailed over 22 real VENUE-188 venues, with
silent videos, empty captions, label noise and order-only venue pairs, written as real mp4 files.

Statistics come from `corpus_items` (recipes only, nothing rendered); only a handful of videos are
rendered and encoded.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from core.corpus import (
    DEMO_VENUES,
    CorpusError,
    corpus_items,
    generate_corpus,
    render_audio,
    render_frames,
    venue_frequencies,
)
from core.corpus.profiles import PROFILES
from core.media import N_FRAMES, N_SAMPLES, SAMPLE_RATE, decode, probe

VENUE188_TREE = Path(__file__).resolve().parents[3] / "shared" / "data" / "venue188_tree.json"
N_STATS = 2000
# the venues of the paper's Table 5 and its failure cases
PAPER_VENUES = ("Miscellaneous Shop", "Train Station", "University", "Gym", "Art Museum",
                "General Entertainment", "Garden", "College Basketball Court", "Speakeasy", "Theme Park")


@pytest.fixture(scope="module")
def items():
    return corpus_items(N_STATS, seed=11)


# ----------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_recipes_and_another_seed_does_not(items):
    again = corpus_items(N_STATS, seed=11)
    assert again == items  # frozen dataclasses: labels, captions, shots, sounds, noise, silence
    other = corpus_items(N_STATS, seed=12)
    assert [i.venue for i in other] != [i.venue for i in items]
    assert [i.caption for i in other] != [i.caption for i in items]
    assert [i.has_audio for i in other] != [i.has_audio for i in items]


def test_an_item_depends_on_seed_and_index_only():
    # what video i looks like does not depend on how many videos the corpus has (resuming, growing)
    small, large = corpus_items(100, seed=4), corpus_items(300, seed=4)
    same_plan = [(a, b) for a, b in zip(small, large, strict=False)
                 if (a.venue, a.has_audio, a.label_noise) == (b.venue, b.has_audio, b.label_noise)]
    assert same_plan
    for a, b in same_plan:
        assert (a.shots, a.shot_frames, a.sounds, a.caption) == (b.shots, b.shot_frames, b.sounds, b.caption)


def test_rendering_is_deterministic_per_seed(items):
    others = corpus_items(N_STATS, seed=12)
    item = next(i for i in items if i.has_audio and others[i.index].has_audio)
    twin = corpus_items(N_STATS, seed=11)[item.index]
    ids = np.arange(0, 72, 6)
    frames = render_frames(item, ids)
    assert frames.shape == (12, 240, 320, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, render_frames(twin, ids))
    sound = render_audio(item)
    assert sound is not None and sound.shape == (6 * SAMPLE_RATE,) and sound.dtype == np.float32
    np.testing.assert_array_equal(sound, render_audio(twin))
    assert np.abs(sound).max() > 0.01  # not silence

    other = others[item.index]  # the same video number of another seed
    assert not np.array_equal(render_frames(other, ids), frames)
    assert not np.array_equal(render_audio(other), sound)


def test_a_frame_does_not_depend_on_which_other_frames_are_rendered(items):
    # the feature proxies render 12 frames, the encoder all 72: the same pixels either way
    for item in (items[0], next(i for i in items if not i.visual_source)):
        every = render_frames(item)
        assert every.shape == (72, 240, 320, 3)
        some = np.array([0, 7, 30, 71])
        np.testing.assert_array_equal(render_frames(item, some), every[some])
        assert len({every[f].tobytes() for f in range(0, 72, 6)}) > 1  # it moves


def test_silent_items_render_no_audio(items):
    silent = next(i for i in items if not i.has_audio)
    assert render_audio(silent) is None
    assert silent.sounds == () and silent.audio_source == ""


# ----------------------------------------------------------------- the corpus's shape


def test_22_venues_of_the_real_venue188_tree_including_the_papers():
    tree = json.loads(VENUE188_TREE.read_text(encoding="utf-8"))
    names = {v["name"] for v in tree["venues"]}
    assert len(names) == 188
    assert len(DEMO_VENUES) == len(set(DEMO_VENUES)) == 22
    assert set(DEMO_VENUES) <= names, set(DEMO_VENUES) - names
    assert set(PAPER_VENUES) <= set(DEMO_VENUES)


def test_long_tail_about_ten_to_one(items):
    counts = Counter(i.venue for i in items)
    assert set(counts) == set(DEMO_VENUES)
    assert counts == Counter(venue_frequencies(N_STATS))
    ratio = max(counts.values()) / min(counts.values())
    assert 7 <= ratio <= 13, counts
    # decreasing along DEMO_VENUES: Park is the head, Speakeasy the tail
    freq = [counts[v] for v in DEMO_VENUES]
    assert freq == sorted(freq, reverse=True)
    assert sum(freq) == N_STATS


def test_every_venue_has_three_videos_once_the_corpus_allows():
    assert min(venue_frequencies(66).values()) >= 3
    assert min(venue_frequencies(240).values()) >= 3
    assert sum(venue_frequencies(31).values()) == 31
    with pytest.raises(ValueError):
        venue_frequencies(0)


def test_about_ten_percent_silent_and_thirty_percent_empty_captions(items):
    silent = sum(not i.has_audio for i in items) / N_STATS
    assert silent == pytest.approx(0.10, abs=0.005)
    kinds = Counter(i.caption_kind for i in items)
    assert kinds["empty"] / N_STATS == pytest.approx(0.30, abs=0.04)
    assert all((i.caption == "") == (i.caption_kind == "empty") for i in items)
    assert kinds["irrelevant"] > 0 and kinds["relevant"] > N_STATS / 2


def test_some_label_noise(items):
    noisy = [i for i in items if i.label_noise]
    assert 0.01 * N_STATS <= len(noisy) <= 0.06 * N_STATS
    assert all(i.recipe_venue != i.venue and i.recipe_venue in DEMO_VENUES for i in noisy)
    assert all(i.recipe_venue == i.venue for i in items if not i.label_noise)


def test_recipes_are_well_formed(items):
    for i in items[:300]:
        assert sum(i.shot_frames) == 72 and min(i.shot_frames) >= 1
        assert len(i.shots) == len(i.shot_frames)
        assert i.has_audio == bool(i.sounds)


def test_captions_are_vine_like(items):
    captions = [i.caption for i in items if i.caption]
    assert any("#" in c for c in captions)
    assert any(not c.isascii() for c in captions)  # emoji and non-English words
    # a relevant caption usually says something of its venue
    hits = 0
    relevant = [i for i in items if i.caption_kind == "relevant" and i.text_source == i.venue]
    for i in relevant:
        p = PROFILES[i.venue]
        words = (*p.words, *p.tags, *p.foreign, *p.emoji)
        hits += any(w.lower() in i.caption.lower() for w in words)
    assert hits / len(relevant) > 0.4


def test_order_only_pairs_share_shots_in_another_order():
    pairs = [("Train Station", "Airport"), ("Mall", "Miscellaneous Shop"), ("Park", "Zoo"),
             ("Nightclub", "Concert Hall")]
    for a, b in pairs:
        sa, sb = PROFILES[a].shots, PROFILES[b].shots
        assert sorted(sa) == sorted(sb), (a, b)
        assert sa != sb, (a, b)
    # and no other two venues share a shot sequence exactly
    sequences = Counter(p.shots for p in PROFILES.values())
    assert max(sequences.values()) == 1


def test_confusable_pairs_borrow_each_others_recipes(items):
    assert PROFILES["College Basketball Court"].confuse == "General Entertainment"
    assert PROFILES["General Entertainment"].confuse == "College Basketball Court"
    assert PROFILES["Speakeasy"].confuse == "Garden" and PROFILES["Garden"].confuse == "Speakeasy"
    borrowed = [i for i in items if i.recipe_venue == "Speakeasy" and i.visual_source == "Garden"]
    assert borrowed  # some Speakeasy videos look like a garden
    # the modalities disagree now and then: each alone is insufficient
    disagree = [i for i in items if i.visual_source and i.audio_source and i.visual_source != i.audio_source]
    assert disagree


# ----------------------------------------------------------------- real files


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    """Six real mp4 files (one of them silent, round(0.6) = 1) and the manifest."""
    out = tmp_path_factory.mktemp("corpus")
    calls: list[tuple[int, int]] = []
    made = generate_corpus(out, 6, seed=5, progress=lambda d, t: calls.append((d, t)))
    return out, made, calls


def test_generate_corpus_writes_decodable_mp4s_and_a_manifest(written):
    out, made, calls = written
    assert made == corpus_items(6, seed=5)
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["filename"], r["caption"], r["venue"]) for r in rows] == [(i.filename, i.caption, i.venue) for i in made]
    assert sum(not i.has_audio for i in made) == 1
    for item in made[:3] + [i for i in made if not i.has_audio]:
        video = decode(out / item.filename)
        assert video.frames.shape[0] == N_FRAMES == 12
        assert video.frames.shape[1:] == (240, 320, 3)
        assert video.audio.shape == (N_SAMPLES,) and N_SAMPLES == 6 * SAMPLE_RATE
        assert video.duration == pytest.approx(6.0, abs=0.1)
        assert video.has_audio == item.has_audio
        if item.has_audio:
            assert not video.is_silent
        else:
            assert video.is_silent and not video.audio.any()
        # frames are the rendered ones (lossy H.264, so roughly)
        rendered = render_frames(item, np.arange(0, 72, 6)).astype(np.float32)
        assert np.abs(video.frames.astype(np.float32) - rendered).mean() < 12


def test_same_seed_writes_byte_identical_files_and_resumes(written, tmp_path: Path):
    from core.corpus.generate import write_video

    out, made, _ = written
    item = made[0]
    write_video(tmp_path, item)
    assert (tmp_path / item.filename).read_bytes() == (out / item.filename).read_bytes()
    info = probe(out / item.filename)
    assert (info.width, info.height, info.fps) == (320, 240, 12)

    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}
    calls: list[tuple[int, int]] = []
    assert generate_corpus(out, 6, seed=5, progress=lambda d, t: calls.append((d, t))) == made
    assert calls == [(6, 6)]  # nothing left to do
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")} == before


def test_refuses_to_mix_two_corpora_in_one_folder(written):
    out, _, _ = written
    with pytest.raises(CorpusError, match="another corpus"):
        generate_corpus(out, 6, seed=6)
    with pytest.raises(ValueError):
        corpus_items(10, seed=-1)
