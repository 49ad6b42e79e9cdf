"""db/ answers each question in one place: the active model and "relabelled since" have one query each, which the
other reads reuse (a second copy drifts: one of three once ignored a demoted model)."""
from __future__ import annotations

import ast
from pathlib import Path

DB = Path(__file__).resolve().parents[2] / "db"


def _functions_where(predicate) -> set[str]:  # noqa: ANN001
    """module:function of every function in db/ (models.py aside) whose body satisfies predicate(node)."""
    found = set()
    for path in sorted(DB.glob("*.py")):
        if path.name == "models.py":
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef) and any(predicate(n) for n in ast.walk(fn)):
                found.add(f"{path.stem}:{fn.name}")
    return found


def _is_active_filter(node: ast.AST) -> bool:
    """`ModelVersion.is_active.is_(True)`: a query that finds the active model."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "is_"
            and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "is_active")


def _label_id_after(node: ast.AST) -> bool:
    """`Label.id > x`: a query for labels newer than a snapshot."""
    return (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "id"
            and isinstance(node.left.value, ast.Name) and node.left.value.id == "Label"
            and isinstance(node.ops[0], ast.Gt))


def test_the_active_model_is_found_by_one_query():
    assert _functions_where(_is_active_filter) == {"repo:active_model_brief"}


def test_relabelled_since_is_one_query():
    assert _functions_where(_label_id_after) == {"repo:relabelled_after"}


def test_the_predicates_find_what_they_look_for():
    """The checks above would pass vacuously if the predicates never matched: they match their own examples."""
    active = ast.parse("select(ModelVersion.id).where(ModelVersion.is_active.is_(True))")
    newer = ast.parse("select(Label.video_id).where(Label.id > 3)")
    assert any(_is_active_filter(n) for n in ast.walk(active))
    assert any(_label_id_after(n) for n in ast.walk(newer))
    assert not any(_label_id_after(n) for n in ast.walk(active))
