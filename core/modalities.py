"""The three modalities of a micro-video, defined once: every module that lists or parses them reads this.

    MODALITIES                      ('visual', 'acoustic', 'textual'), the canonical order of atom rows,
                                    classifier segments and table columns
    canonical({'textual', 'visual'}) -> ('visual', 'textual')
    parse('v,t') / parse('visual+acoustic') -> canonical tuple (ValueError on an unknown name)
    letters(('visual', 'textual'))  -> 'V+T' (Table 3's row names)
"""
from __future__ import annotations

from collections.abc import Iterable

MODALITIES: tuple[str, ...] = ("visual", "acoustic", "textual")
LETTERS: dict[str, str] = {"visual": "V", "acoustic": "A", "textual": "T"}
_BY_LETTER = {letter.lower(): name for name, letter in LETTERS.items()}


def canonical(chosen: Iterable[str]) -> tuple[str, ...]:
    """The chosen modalities in canonical order; unknown names are a ValueError."""
    chosen = set(chosen)
    unknown = sorted(chosen - set(MODALITIES))
    if unknown:
        raise ValueError(f"unknown modality {unknown[0]!r}: choose from {', '.join(MODALITIES)}")
    return tuple(m for m in MODALITIES if m in chosen)


def parse(text: str | None) -> tuple[str, ...]:
    """'v,a,t', 'visual,textual' or 'V+A' -> the canonical tuple; empty -> all three."""
    if not text:
        return MODALITIES
    chosen = set()
    for part in text.replace("+", ",").split(","):
        part = part.strip().lower()
        if not part:
            continue
        name = _BY_LETTER.get(part, part)
        if name not in MODALITIES:
            raise ValueError(f"unknown modality {part!r}: use v, a, t (visual, acoustic, textual)")
        chosen.add(name)
    return canonical(chosen)


def letters(modalities: Iterable[str]) -> str:
    """('visual', 'textual') -> 'V+T', in canonical order."""
    return "+".join(LETTERS[m] for m in canonical(modalities))
