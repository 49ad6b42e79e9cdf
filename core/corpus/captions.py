"""Vine-like captions: venue words mixed with generic chatter, hashtags, emoji and non-English words.

A relevant caption draws 1-3 venue tokens (own words, the venue's group words, its confusable partner's
words) and writes each as a word, a hashtag or a translation, among 0-4 generic words; an irrelevant one
has generic words only; an empty one is "".
"""
from __future__ import annotations

import numpy as np

from core.corpus.profiles import (
    GENERIC_EMOJI,
    GENERIC_FOREIGN,
    GENERIC_TAGS,
    GENERIC_WORDS,
    GROUP_WORDS,
    PROFILES,
    pair_words,
)

# where a relevant token comes from: own words, group words, pair words (venues in a confusable pair)
P_OWN, P_GROUP = 0.45, 0.35


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(0, len(options)))]


def _hashtag(word: str) -> str:
    return "#" + "".join(part[:1].upper() + part[1:] for part in word.split())


def _venue_token(rng: np.random.Generator, venue: str) -> str:
    prof = PROFILES[venue]
    shared = pair_words(venue)
    u = rng.random()
    if shared and u > P_OWN:  # confusable venues talk alike
        pool = shared if rng.random() < 0.6 else GROUP_WORDS[_pick(rng, prof.groups)]
    elif u < P_OWN or not prof.groups:
        pool = prof.words
    elif u < P_OWN + P_GROUP:
        pool = GROUP_WORDS[_pick(rng, prof.groups)]
    else:  # a word from a random other venue: people mention what they pass by
        pool = PROFILES[_pick(rng, tuple(PROFILES))].words
    form = rng.random()
    if form < 0.2 and pool is prof.words:
        return _pick(rng, prof.foreign)
    if form < 0.35 and pool is prof.words:
        return _pick(rng, prof.tags)
    if form < 0.5:
        return _hashtag(_pick(rng, pool))
    return _pick(rng, pool)


def _generic(rng: np.random.Generator, k: int) -> list[str]:
    return [_pick(rng, GENERIC_FOREIGN) if rng.random() < 0.12 else _pick(rng, GENERIC_WORDS) for _ in range(k)]


def _dress(rng: np.random.Generator, tokens: list[str], emoji: tuple[str, ...]) -> str:
    """Shuffle, then add the trimmings people add: a generic hashtag, emoji, shouting."""
    order = rng.permutation(len(tokens))
    words = [tokens[i] for i in order]
    if rng.random() < 0.25:
        words.append(_pick(rng, GENERIC_TAGS))
    if rng.random() < 0.45:
        words.append(_pick(rng, emoji) * int(rng.integers(1, 4)))
    text = " ".join(words)
    case = rng.random()
    if case < 0.05:
        return text.upper()
    if case < 0.5:
        return text[:1].upper() + text[1:]
    return text


def relevant_caption(rng: np.random.Generator, venue: str) -> str:
    """A caption that says something about the venue."""
    tokens = [_venue_token(rng, venue) for _ in range(int(rng.choice([1, 1, 2, 2, 3])))]
    tokens += _generic(rng, int(rng.integers(0, 5)))
    emoji = PROFILES[venue].emoji if rng.random() < 0.7 else GENERIC_EMOJI
    return _dress(rng, tokens, emoji)


def irrelevant_caption(rng: np.random.Generator) -> str:
    """Generic chatter only ("so much fun with the squad lol")."""
    return _dress(rng, _generic(rng, int(rng.integers(2, 7))), GENERIC_EMOJI)
