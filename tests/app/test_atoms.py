"""The atom explorer lets a person hear an acoustic atom (the 1-second clips that fire it) and read a textual one
(the captions with the words that fire it), on the shared workspace's real model and files."""
from __future__ import annotations

from app.services import atomevidence, explain
from core.features.textual import clean_tokens
from tests.app.test_pages import ctx_of, open_page
from tests.fixtures import Workspace


def _strong_atom(ctx, modality: str, model_id: int) -> tuple[int, list[int]]:  # noqa: ANN001
    """The atom with the most active videos in a modality, and those videos."""
    best = (0, [])
    for atom in range(explain.atom_overview(ctx, model_id=model_id).atoms):
        ids = [v["video_id"] for v in explain.atom_top_videos(ctx, atom, model_id=model_id, modality=modality,
                                                              limit=8)[modality]]
        if len(ids) > len(best[1]):
            best = (atom, ids)
    return best


def test_acoustic_clips_and_textual_words_fire_the_atom(ws_env: Workspace) -> None:
    ctx = ctx_of(ws_env)
    atom, ids = _strong_atom(ctx, "acoustic", ws_env.active_model)
    clips = atomevidence.acoustic_evidence(ctx, atom, model_id=ws_env.active_model, video_ids=ids)
    assert [c.video_id for c in clips] == ids
    assert all(0 <= c.clip < 6 and c.drop <= c.activation + 1e-6 for c in clips)
    assert any(c.drop > 0 for c in clips)  # leaving the clip out lowers the code
    atom_t, ids_t = _strong_atom(ctx, "textual", ws_env.active_model)
    words = atomevidence.textual_evidence(ctx, atom_t, model_id=ws_env.active_model, video_ids=ids_t)
    from app.services import browse

    captions = {r.id: r.caption for r in browse.videos_by_id(ctx, tuple(ids_t))}
    for ev in words:
        assert {w for w, _ in ev.words} <= set(clean_tokens(captions[ev.video_id]))  # words of that caption


def test_the_page_plays_clips_and_lists_captions(ws_env: Workspace) -> None:
    ctx = ctx_of(ws_env)
    atom, ids = _strong_atom(ctx, "acoustic", ws_env.active_model)
    at = open_page("atoms", query={"atom": str(atom)})
    assert len(at.get("audio")) >= 1
    table = at.dataframe(key=f"atoms_words_{atom}").value
    assert {"caption", "words that fire it"} <= set(table.columns)
