"""`python -m app reproduce --quick` and `evaluate` on the small real workspace, through the CLI entry.

One quick run (2 splits, 2 epochs, tiny models) is shared by the report tests; it writes into a copy of
the session's workspace, since it also publishes reports/latest there.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from core.protocol import ProtocolResult
from core.report import PAPER
from tests.fixtures import Workspace, workspace_env, workspace_settings

DEEP = ("EASTERN", "LSTMs", "LSTM+DL", "CONV")
SUBSETS = ("V", "A", "T", "V+A", "V+T", "A+T")
SHALLOW = ("TMDL", "TMDL-CS", "DMDL", "TRUMANN")
MAIN_METHODS = DEEP + tuple(f"EASTERN {s}" for s in SUBSETS) + SHALLOW
PROBE = ("LSTMs V", "EASTERN V shuffled", "LSTMs V shuffled", "CONV V")
ALL_METHODS = MAIN_METHODS + PROBE + ("EASTERN L1",)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """app.cli.main in this process: (exit code, stdout, stderr)."""
    from app.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def home(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory):
    """A copy of the shared workspace as EASTERN_HOME for this module."""
    path = tmp_path_factory.mktemp("reproduce") / "home"
    shutil.copytree(workspace.home, path, ignore=shutil.ignore_patterns("cache", "*.log"))
    copy = dataclasses.replace(workspace, home=path, db_url=workspace_settings(path).db_url)
    with workspace_env(copy):
        yield copy


@pytest.fixture(scope="module")
def quick(home: Workspace, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report")
    code, stdout, stderr = run_cli(["reproduce", "--quick", "--out", str(out)])
    assert code == 0, stderr[-3000:]
    return out, stdout, stderr


def section(markdown: str, title_start: str) -> str:
    """The text of the report section whose `## ` title starts with title_start."""
    parts = re.split(r"^## ", markdown, flags=re.M)
    found = [p for p in parts if p.startswith(title_start)]
    assert found, f"no section {title_start!r}"
    return found[0]


def table_rows(text: str) -> dict[str, list[str]]:
    """First column -> the other cells of every markdown table row in text (header row included)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows[cells[0]] = cells[1:]
    return rows


MEASURED = re.compile(r"^\d+\.\d\d ± \d+\.\d\d$")


P_VALUE = re.compile(r"^\d\.\d\de[-+]\d\d$")


def assert_measured_with_paper(rows: dict[str, list[str]], label: str, paper: tuple) -> None:
    micro, macro, _p_corrected, _p_holm, _p_naive, paper_micro, paper_macro, paper_p = rows[label]
    assert MEASURED.match(micro) and MEASURED.match(macro), rows[label]
    assert (paper_micro, paper_macro) == (f"{paper[0]:.2f}", f"{paper[1]:.2f}")
    assert paper_p == ("-" if paper[2] is None else f"{paper[2]:.2e}")


# ----------------------------------------------------------------- reproduce --quick


def test_reproduce_writes_markdown_html_and_json_and_publishes_latest(quick, home: Workspace):
    out, stdout, stderr = quick
    assert not list((home.home / "reports" / ".unfinished").glob("protocol-*.json"))  # finished: no checkpoint
    for name in ("report.md", "report.html", "results.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
        latest = home.home / "reports" / "latest" / name
        assert latest.read_bytes() == (out / name).read_bytes()
    # the terminal gets Tables 1 and 3 and where the report went
    assert "Table 1" in stdout and "Table 3" in stdout
    assert str(out / "report.md") in stderr


def test_table1_compares_eastern_with_every_baseline_beside_the_paper(quick):
    md = (quick[0] / "report.md").read_text(encoding="utf-8")
    text = section(md, "Table 1")
    rows = table_rows(text)
    labels = {"TMDL": "TMDL (joint-sparse)", "TMDL-CS": "TMDL-CS (class-specific)"}
    for name in ("LSTMs", "LSTM+DL", "TMDL", "TMDL-CS", "DMDL", "TRUMANN", "EASTERN"):
        # both TMDL stand-ins sit beside the paper's TMDL row
        assert_measured_with_paper(rows, labels.get(name, name), PAPER["table1"][name.replace("-CS", "")])
    # 2 splits: three p-values against EASTERN: corrected resampled t, its Holm adjustment, plain paired t
    for name in ("LSTMs", "LSTM+DL", *labels.values(), "DMDL", "TRUMANN"):
        corrected, holm, naive = (float(v) for v in rows[name][2:5])
        assert all(P_VALUE.match(v) for v in rows[name][2:5])
        assert naive <= corrected <= holm <= 1.0
    assert rows["EASTERN"][2:5] == ["-", "-", "-"]
    # findings are sentences generated from the numbers, one per baseline and the verdict
    assert text.count("EASTERN's Macro-F is ") == 6
    assert text.count("corrected p=") == 6 and "Holm p=" in text
    assert "highest Macro-F" in text
    assert "Bahrampour" in text and "class-specific" in text  # TMDL is named for what it is


def test_table2_conv_and_table3_seven_modality_combinations(quick):
    md = (quick[0] / "report.md").read_text(encoding="utf-8")
    rows2 = table_rows(section(md, "Table 2"))
    assert_measured_with_paper(rows2, "CONV", PAPER["table2"]["CONV"])
    assert_measured_with_paper(rows2, "EASTERN", PAPER["table2"]["EASTERN"])
    rows3 = table_rows(section(md, "Table 3"))
    for combo in (*SUBSETS, "all"):
        assert_measured_with_paper(rows3, combo, PAPER["table3"][combo])
    # 'all' is the very EASTERN row of Table 1 (the same runs)
    assert rows3["all"][:2] == table_rows(section(md, "Table 1"))["EASTERN"][:2]


def test_figure6_has_a_curve_per_deep_model_and_table5_a_case_study(quick):
    md = (quick[0] / "report.md").read_text(encoding="utf-8")
    fig = table_rows(section(md, "Figure 6"))
    assert fig["epoch"][:4] == list(DEEP) and not set(fig["epoch"]) & set(ALL_METHODS[len(MAIN_METHODS):])
    assert set(fig) == {"epoch", "1", "2"}  # --quick: 2 epochs
    assert all(re.match(r"^\d+\.\d\d$", cell) for cell in fig["1"] + fig["2"])
    case = section(md, "Table 5")
    rows = table_rows(case)
    assert "Ground Truth" in rows and set(MAIN_METHODS) <= set(rows) and not set(PROBE) & set(rows)
    assert "The paper's Table 5" in case and "Miscellaneous Shop" in case
    assert "Sparsity" in md


def test_html_report_embeds_plotly_and_every_table(quick):
    page = (quick[0] / "report.html").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot") >= 2  # the bar chart beside Table 1 and Figure 6
    # plotly.js inline, once: the report opens offline
    assert "<script src=" not in page and page.count("plotly.js v") == 1
    for title in ("Table 1", "Table 2", "Table 3", "Figure 6", "Table 5"):
        assert f"<h2>{title}" in page
    assert "59.51" in page  # the paper's numbers are beside ours


def test_results_json_holds_every_run_on_the_same_splits(quick):
    result = ProtocolResult.load(quick[0] / "results.json")
    raw = json.loads((quick[0] / "results.json").read_text(encoding="utf-8"))
    assert [m.name for m in result.methods] == list(ALL_METHODS)
    assert result.config["n_splits"] == 2 and result.config["epochs"] == 2
    assert all(len(result.runs[name]) == 2 for name in ALL_METHODS)
    for split in result.splits:  # disjoint train / val / test parts of the labelled corpus
        parts = [set(split[k]) for k in ("train", "val", "test")]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set(result.curves) == {m.name for m in result.methods if m.kind == "deep"}
    assert set(result.predictions["methods"]) == set(ALL_METHODS)
    assert len(result.predictions["truth"]) == len(result.splits[0]["test"])
    assert raw["paper"]["table1"]["EASTERN"] == [59.51, 30.57, None]
    assert raw["dataset"]["name"] == "corpus" and raw["dataset"]["n_videos"] >= 10
    # one selection criterion, early stopping, word2vec refitted on each split's training captions
    assert raw["config"]["select_metric"] == "macro_f1" and raw["config"]["patience"] == 5
    assert raw["config"]["word2vec"]["per_split"] and len(raw["config"]["word2vec"]["vocab_sizes"]) == 2
    assert {run["select_metric"] for name in SHALLOW for run in result.runs[name]} == {"macro_f1"}


def test_results_json_carries_three_p_values_per_comparison(quick):
    raw = json.loads((quick[0] / "results.json").read_text(encoding="utf-8"))
    comparisons = raw["comparisons"]
    families = {}
    for c in comparisons:
        families.setdefault(c["family"], []).append(c)
        assert {"p_naive", "p_corrected", "p_holm"} <= set(c)
        assert 0.0 <= c["p_naive"] <= 1.0 and c["p_naive"] <= c["p_corrected"] <= c["p_holm"] <= 1.0
    assert {f: len(v) for f, v in families.items()} == {"Table 1": 6, "Table 2": 1, "Table 3": 6, "Order probe": 3,
                                                          "Sparsity ablation": 1}
    from statsmodels.stats.multitest import multipletests

    table3 = families["Table 3"]
    assert [c["p_holm"] for c in table3] == pytest.approx(
        list(multipletests([c["p_corrected"] for c in table3], method="holm")[1]))


def test_report_has_the_order_probe_the_ablation_and_the_epochs_used(quick):
    md = (quick[0] / "report.md").read_text(encoding="utf-8")
    probe = section(md, "Order probe")
    rows = table_rows(probe)
    # columns: frames, Micro-F, Macro-F, order pairs swapped, compared with, p corrected, p Holm
    for name in ("EASTERN V", *PROBE):
        assert MEASURED.match(rows[name][1]) and MEASURED.match(rows[name][2]), rows[name]
        assert rows[name][3] == "-" or re.match(r"^\d+\.\d \(\d+/\d+\)$", rows[name][3]), rows[name]
    assert rows["EASTERN V shuffled"][0] == "shuffled frames" and rows["EASTERN V shuffled"][3:5] != ["-", "-"]
    assert rows["EASTERN V shuffled"][4] == "EASTERN V" and P_VALUE.match(rows["EASTERN V shuffled"][5])
    from core.protocol import order_only_pairs

    classes = json.loads((quick[0] / "results.json").read_text(encoding="utf-8"))["dataset"]["class_names"]
    pairs = order_only_pairs(classes)  # the small workspace may hold too few videos of a pair's venues
    if pairs:
        assert "Order-only pairs:" in probe and all(f"{a} / {b}" in probe for a, b in pairs)
    else:
        assert "No venue pairs that differ only in shot order" in probe
    ablation = table_rows(section(md, "Sparsity ablation"))
    assert ablation["EASTERN L1"][0] == "1, 1"  # --quick: one weight, chosen in each of the 2 splits
    assert re.match(r"^\d+\.\d$", ablation["EASTERN L1"][1])
    epochs = table_rows(section(md, "Training length"))
    assert set(ALL_METHODS) <= set(epochs) and epochs["EASTERN"][1] == "2.0 (2-2)"
    assert "validation Macro-F" in section(md, "What was measured")
    # the terminal summary carries the order probe too
    assert "Order probe" in quick[1]


# ----------------------------------------------------------------- evaluate and user errors


def test_evaluate_prints_a_table(home: Workspace, tmp_path: Path):
    results = tmp_path / "evaluate.json"
    code, stdout, stderr = run_cli(["evaluate", "--splits", "2", "--epochs", "1", "--json", str(results)])
    assert code == 0, stderr[-3000:]
    rows = table_rows(stdout)
    assert rows["Method"] == ["Micro-F %", "Macro-F %", "p corrected", "p Holm", "p paired t"]
    assert set(rows) == {"Method", *DEEP}
    for name in DEEP:
        assert MEASURED.match(rows[name][0]) and MEASURED.match(rows[name][1])
    assert rows["EASTERN"][2:] == ["-", "-", "-"] and all(P_VALUE.match(v) for v in rows["CONV"][2:])
    assert "2 split(s)" in stdout
    saved = ProtocolResult.load(results)
    assert saved.config["epochs"] == 1 and all(len(runs) == 2 for runs in saved.runs.values())


def test_an_interrupted_evaluate_resumes_where_it_stopped(home: Workspace, tmp_path: Path):
    """Ctrl-C (SIGINT) to a real `evaluate` process after its first training: the next `evaluate` with the
    same arguments says how many trainings it kept and runs only the others; the checkpoint is then gone."""
    import signal
    import subprocess
    import sys
    import time

    unfinished = home.home / "reports" / ".unfinished"
    shutil.rmtree(unfinished, ignore_errors=True)
    argv = ["evaluate", "--splits", "2", "--epochs", "3", "--models", "eastern,lstms,conv"]
    # this module's home, said explicitly: the child must write where the loop below looks; and Ctrl-C's default
    # action restored in it: an ignored SIGINT is inherited through exec (a non-interactive shell's background job
    # starts with it, and something earlier in the full suite can leave it so in this process), and then the child
    # finished its trainings with status 0
    proc = subprocess.Popen([sys.executable, "-m", "app", *argv], cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **home.env()},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    deadline = time.monotonic() + 240
    while not list(unfinished.glob("protocol-*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "evaluate ended before its first checkpoint was seen: " + proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    (checkpoint,) = unfinished.glob("protocol-*.json")
    kept = sum(len(runs) for runs in ProtocolResult.load(checkpoint).runs.values())
    assert 1 <= kept < 6

    code, stdout, stderr = run_cli([*argv, "--json", str(tmp_path / "r.json")])
    assert code == 0, stderr[-3000:]
    assert f"resuming: {kept} of 6 trainings were done before" in stderr
    result = ProtocolResult.load(tmp_path / "r.json")
    assert result.config["resumed_runs"] == kept
    assert all([r["split"] for r in runs] == [0, 1] for runs in result.runs.values())
    assert not list(unfinished.glob("protocol-*.json"))  # done: the checkpoint is removed

    code, _stdout, stderr = run_cli([*argv, "--fresh"])  # nothing to resume; --fresh is accepted
    assert code == 0 and "resuming" not in stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["evaluate", "--splits", "0"], "at least 1"),
    (["reproduce", "--quick", "--models", "eastern,svm"], "unknown model(s) svm"),
    (["reproduce", "--quick", "--features", "nothing-here"], "no imported features named 'nothing-here'"),
])
def test_bad_arguments_give_one_clear_line(home: Workspace, argv: list[str], message: str):
    code, stdout, stderr = run_cli(argv)
    assert code == 2
    assert stderr.strip().splitlines()[-1].startswith("error: ") and message in stderr
    assert "Traceback" not in stderr


# ----------------------------------------------------------------- findings follow the numbers


def synthetic(macro: dict[str, tuple[float, float]]) -> ProtocolResult:
    """A result with these per-split Macro-F values (Micro-F = Macro-F + 0.2) and nothing else."""
    from core.protocol import deep, shallow

    methods = [deep("eastern"), deep("lstms"), shallow("tmdl")]
    runs = {m.name: [{"micro_f1": v + 0.2, "macro_f1": v, "split": s} for s, v in enumerate(macro[m.name])]
            for m in methods}
    return ProtocolResult(methods=methods, config={"n_splits": 2, "test_size": 0.1, "val_fraction": 0.1, "seed": 0,
                                                   "epochs": 1}, dataset={"n_videos": 10, "n_classes": 2,
                                                   "class_names": ["Park", "Gym"], "dims": {"visual": 1,
                                                   "acoustic": 1, "textual": 1}},
                          splits=[{"train": [0], "val": [1], "test": [2]}] * 2, runs=runs)


def test_findings_say_when_eastern_loses_or_ties():
    from core.report import table1

    lost = table1(synthetic({"EASTERN": (0.30, 0.32), "LSTMs": (0.40, 0.41), "TMDL": (0.10, 0.12)}), PAPER)
    text = " ".join(lost.findings)
    assert "EASTERN's Macro-F is below LSTMs's by 9.50 points" in text
    assert "EASTERN's Macro-F is above TMDL (joint-sparse)'s by 20.00 points" in text
    assert "EASTERN does NOT have the highest Macro-F here: LSTMs does (40.50 vs 31.00)" in text
    assert "Not run here: TMDL-CS, DMDL, TRUMANN." in text

    tied = table1(synthetic({"EASTERN": (0.30, 0.32), "LSTMs": (0.30, 0.32), "TMDL": (0.10, 0.12)}), PAPER)
    text = " ".join(tied.findings)
    assert "EASTERN's Macro-F is equal to LSTMs's" in text and "its Micro-F is equal to it" in text
    assert "EASTERN shares the highest Macro-F of this table with LSTMs (31.00)" in text
    assert "does NOT" not in text

    won = table1(synthetic({"EASTERN": (0.50, 0.52), "LSTMs": (0.30, 0.32), "TMDL": (0.10, 0.12)}), PAPER)
    assert "EASTERN has the highest Macro-F of this table, as in the paper." in won.findings
