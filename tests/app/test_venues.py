"""A team's own venue categories: taxonomy files, ingest --new-venues, pickers, training, and who may add them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import build_parser
from app.commands_base import COMMANDS
from app.errors import user_message
from app.services import accounts, audit, venues
from app.services.accounts import PermissionDenied
from app.services.ingest import ingest_path
from db import repo
from db.session import session_scope
from tests.media import write_video

PASSWORD = "venues-test-pw"


def run(ctx, *argv: str) -> int:
    """A command through the real parser and handler, on the test's context."""
    args = build_parser().parse_args(list(argv))
    return COMMANDS[args.command].handler(ctx, args)


@pytest.fixture()
def ann(ctx) -> str:
    accounts.create(ctx, name="ann", role="annotator", password=PASSWORD, actor="test")
    return "ann"


def _listed(ctx, capsys) -> dict[str, dict]:
    capsys.readouterr()
    assert run(ctx, "venues", "list", "--json", "--source", "user") == 0
    return {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}


def test_clean_name() -> None:
    assert venues.clean_name("  Ｒｏｏｆｔｏｐ\x07   Bar\u200b ") == "Rooftop Bar"
    for bad in ("", " \x00 ", "x" * 121, 3):
        with pytest.raises(venues.VenueError):
            venues.clean_name(bad)


def test_taxonomy_csv_parent_later_in_file(ctx, ann, tmp_path: Path, capsys) -> None:
    csv_file = tmp_path / "tax.csv"
    csv_file.write_text("name,parent\nRooftop Bar,Nightlife Spots\nNightlife Spots,\nPump Track,\n")
    assert run(ctx, "venues", "import", str(csv_file), "--who", "ann", "--password", PASSWORD) == 0
    listed = _listed(ctx, capsys)
    assert listed["Rooftop Bar"]["parent"] == "Nightlife Spots" and listed["Pump Track"]["parent"] is None
    assert listed["Rooftop Bar"]["source"] == "user" and listed["Rooftop Bar"]["venue188_id"] is None


def test_json_tree_and_lists(ctx, ann, tmp_path: Path, capsys) -> None:
    tree = tmp_path / "tax.json"
    tree.write_text(json.dumps({"Water": ["Lido", {"Harbour": ["Ferry Pier"]}]}))
    assert run(ctx, "venues", "import", str(tree), "--who", "ann", "--password", PASSWORD) == 0
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([{"name": "Slipway", "parent": "Harbour"}, "Boathouse"]))
    assert run(ctx, "venues", "import", str(objects), "--who", "ann", "--password", PASSWORD) == 0
    listed = _listed(ctx, capsys)
    assert {n: r["parent"] for n, r in listed.items()} == {
        "Water": None, "Lido": "Water", "Harbour": "Water", "Ferry Pier": "Harbour", "Slipway": "Harbour",
        "Boathouse": None}
    # a parent under a VENUE-188 venue works too; events name the account
    assert run(ctx, "venues", "add", "Night Beach", "--parent", "beach", "--who", "ann", "--password", PASSWORD) == 0
    assert _listed(ctx, capsys)["Night Beach"]["parent"] == "Beach"
    events = audit.recent(ctx, action="venue.add")
    assert len(events) == 7 and {e.actor for e in events} == {"ann"}


def test_duplicates_and_bad_parents_are_refused_whole(ctx, ann, tmp_path: Path, capsys) -> None:
    as_ann = ("--who", "ann", "--password", PASSWORD)
    with pytest.raises(venues.VenueError, match="already exist") as exc:
        run(ctx, "venues", "add", "BEACH", *as_ann)  # a VENUE-188 name in another case
    assert user_message(exc.value) and "\n" not in user_message(exc.value)
    dup = tmp_path / "dup.csv"
    dup.write_text("name\nKiosk\nkiosk\n")
    with pytest.raises(venues.VenueError, match="named twice"):
        run(ctx, "venues", "import", str(dup), *as_ann)
    orphan = tmp_path / "orphan.csv"
    orphan.write_text("name,parent\nStall,Market Hall\nKiosk,\n")
    with pytest.raises(venues.VenueError, match="Market Hall"):
        run(ctx, "venues", "import", str(orphan), *as_ann)
    assert _listed(ctx, capsys) == {}  # nothing of a refused import was kept


def test_changing_venues_needs_an_account(ctx, ann) -> None:
    ctx.settings.signin_delay_s = 0.0
    with pytest.raises(PermissionDenied, match="password"):
        run(ctx, "venues", "add", "Kiosk", "--who", "ann")
    with pytest.raises(PermissionDenied):
        run(ctx, "venues", "add", "Kiosk", "--who", "ann", "--password", "wrong-password")
    accounts.create(ctx, name="vic", role="viewer", password=PASSWORD, actor="test")
    with pytest.raises(PermissionDenied, match="annotator"):
        run(ctx, "venues", "add", "Kiosk", "--who", "vic", "--password", PASSWORD)
    with pytest.raises(PermissionDenied):  # the service checks too, whatever calls it
        venues.add_venues(ctx, [venues.VenueSpec("Kiosk")], who="nobody")
    assert not [v for v in venues.list_venues(ctx) if v.name == "Kiosk"]


def test_ingest_new_venues_and_pickers(ctx, ann, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_video(drop / "a.mp4", seconds=2.0, seed=1)
    write_video(drop / "b.mp4", seconds=2.0, seed=2, audio=False)
    manifest = drop / "manifest.csv"
    manifest.write_text("filename,caption,venue\na.mp4,sunset,Rooftop Bar\nb.mp4,,Ｐump track \n")

    refused = ingest_path(ctx, manifest)
    assert not refused.added and all("--new-venues" in str(e) for e in refused.errors)
    with pytest.raises(PermissionDenied):
        run(ctx, "ingest", str(manifest), "--new-venues", "--no-features", "--who", "ann")
    assert run(ctx, "ingest", str(manifest), "--new-venues", "--no-features", "--who", "ann",
               "--password", PASSWORD) == 0
    with session_scope(ctx.engine) as s:
        labels = {v.original_name: v.current_venue for v in repo.all_videos(s)}
        assert repo.find_venue(s, name="pump track").source == "user"
    assert labels == {"a.mp4": "Rooftop Bar", "b.mp4": "Pump track"}

    from app.services import browse
    from app.ui import cache

    assert {"Rooftop Bar", "Pump track"} <= set(browse.venue_choices(ctx, used_only=True))
    from app.context import get_context
    from app.settings import get_settings

    get_settings.cache_clear()  # the dashboard's context from this test's environment (the settings fixture's)
    get_context.cache_clear()
    cache.venue_choices.clear()
    try:
        assert "Rooftop Bar" in cache.venue_choices() and "Pump track" in cache.venue_choices(used_only=True)
    finally:
        cache.venue_choices.clear()
        get_settings.cache_clear()
        get_context.cache_clear()


def test_a_model_trains_on_user_venues_only(private_ws) -> None:
    """The model's classes are the venues in use: here two of the team's own, none of VENUE-188."""
    from app.context import get_context
    from app.services import training
    from app.services.database import prepare_database

    ctx = get_context()
    prepare_database(ctx)
    added = venues.add_venues(ctx, [venues.VenueSpec("Indoors"), venues.VenueSpec("Outdoors", "Indoors")],
                              who=private_ws.annotator).added
    with session_scope(ctx.engine) as s:
        for video in repo.all_videos(s):
            target = added[video.id % 2].id
            repo.set_label(s, video_id=video.id, venue_id=target, who=private_ws.annotator, expected_version=None)
    model_id = training.train_and_register(
        ctx, training.TrainRequest(epochs=1, seed=0, name="own venues", activate=True))
    with session_scope(ctx.engine) as s:
        model = repo.get_model_version(s, model_id=model_id)
        predicted = {p.venue_id for v in repo.all_videos(s) for p in repo.predictions_for_video(s, video_id=v.id)
                     if p.model_version_id == model_id}
    assert model.config["class_names"] == ["Indoors", "Outdoors"]
    assert model.config["venue_ids"] == [v.id for v in added]
    assert predicted and predicted <= {v.id for v in added}
