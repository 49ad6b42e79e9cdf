"""The reproduction report: our measurements beside the paper's Tables 1-3, Figure 6 and Table 5.

``write_report(result, out_dir)`` writes ``report.md``, ``report.html`` (Plotly figures, plotly.js
embedded once so the page needs no network) and ``results.json`` (the ProtocolResult plus the paper's
numbers and the findings). Every table is followed by sentences generated from the numbers, including
where EASTERN does not win.
"""
from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.fileio import atomic_write_json, atomic_write_text, jsonable, make_dirs
from core.protocol import MODALITY_SUBSETS, REFERENCE, ProtocolResult, order_only_pairs, subset_name

# The paper's own numbers (Liu et al., "Towards Micro-video Understanding by Joint Sequential-Sparse
# Modeling", ACM MM 2017). Micro-F and Macro-F in percent, p-value over Macro-F against EASTERN.
PAPER: dict[str, Any] = {
    # Table 1: comparison with the baselines.
    "table1": {
        "LSTMs": (57.08, 28.73, 7.71e-03),
        "LSTM+DL": (32.13, 2.24, 1.41e-20),
        "TMDL": (52.75, 24.60, 1.10e-07),
        "DMDL": (52.15, 23.44, 3.28e-08),
        "TRUMANN": (53.32, 18.23, 1.36e-13),
        "EASTERN": (59.51, 30.57, None),
    },
    # Table 2: EASTERN without its LSTMs (CONV).
    "table2": {"CONV": (46.10, 12.37, 9.51e-14), "EASTERN": (59.51, 30.57, None)},
    # Table 3: EASTERN on modality combinations (V visual, A audio, T text).
    "table3": {
        "V": (56.15, 26.85, 2.00e-05), "A": (43.68, 11.11, 1.46e-17), "T": (40.85, 7.25, 2.43e-18),
        "V+A": (58.00, 28.74, 1.95e-02), "V+T": (57.95, 28.63, 1.16e-02), "A+T": (48.21, 14.17, 1.68e-15),
        "all": (59.51, 30.57, None),
    },
    # Figure 6 gives curves only (no numbers in the text): the paper's reading of it.
    "figure6": "All deep models except LSTM+DL rise quickly with the epochs and level off; LSTM+DL is flat "
               "from the first epoch; EASTERN is above the other models at every epoch.",
    # Table 5: case study, prediction of each model for four videos (v1, v2 right only with EASTERN).
    "table5": {
        "videos": ["v1", "v2", "v3", "v4"],
        "LSTM+DL": ["University", "University", "University", "University"],
        "LSTMs": ["Gym", "Art Museum", "General Entertainment", "General Entertainment"],
        "CONV": ["University", "Art Museum", "University", "University"],
        "TMDL": ["General Entertainment", "Art Museum", "General Entertainment", "Garden"],
        "DMDL": ["University", "University", "General Entertainment", "General Entertainment"],
        "TRUMANN": ["University", "University", "General Entertainment", "University"],
        "EASTERN": ["Miscellaneous Shop", "Train Station", "General Entertainment", "Garden"],
        "Ground Truth": ["Miscellaneous Shop", "Train Station", "College Basketball Court", "Speakeasy"],
    },
}

TABLE1_METHODS = ("LSTMs", "LSTM+DL", "TMDL", "TMDL-CS", "DMDL", "TRUMANN", "EASTERN")
SIGNIFICANCE = 0.05
# What our two TMDL rows are (core/baselines/tmdl.py, tmdl_cs.py); both stand for the paper's TMDL row.
TABLE1_LABELS = {"TMDL": "TMDL (joint-sparse)", "TMDL-CS": "TMDL-CS (class-specific)"}
TABLE1_PAPER_ROW = {"TMDL-CS": "TMDL"}
TMDL_NOTE = ("Two stand-ins for the paper's TMDL, both beside its numbers. 'TMDL (joint-sparse)' is Bahrampour et "
             "al.'s supervised (task-driven) multimodal dictionary learning with joint sparsity: one dictionary per "
             "modality shared by every class, learned end to end with a softmax classifier on the codes. "
             "'TMDL-CS (class-specific)' follows the paper's description of its ref [8] (samples of each class "
             "share a class-specific dictionary, plus a linear classifier): one joint-sparse dictionary per class, "
             "learned on that class's training videos, and a softmax regression on every class's reconstruction "
             "errors and codes; its dictionaries are not trained end to end with the classifier.")
P_NOTE = ("p: each method's Macro-F against the reference over the splits. 'p corrected' is the corrected "
          "resampled t-test (Nadeau and Bengio 2003: variance scaled by 1/k + n_test/n_train, since the splits' "
          "training sets overlap), 'p Holm' that p after Holm's correction over the comparisons of this table, "
          "'p paired t' the plain paired t-test (anti-conservative here). Sentences judge significance on p Holm.")
# The order probe: V-only models on ordered and on shuffled frames (core.protocol, frames='shuffled').
PROBE_ROWS = (("EASTERN V", "ordered"), ("EASTERN V shuffled", "shuffled frames"), ("LSTMs V", "ordered"),
              ("LSTMs V shuffled", "shuffled frames"), ("CONV V", "mean-pooled frames"),
              ("CONV", "mean-pooled, all modalities"))
PROBE_PAIRS = (("EASTERN V shuffled", "EASTERN V"), ("LSTMs V shuffled", "LSTMs V"), ("CONV V", "EASTERN V"))
ABLATION = ("EASTERN L1", REFERENCE)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.headers) + " |", "|" + "---|" * len(self.headers)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@dataclass
class Section:
    title: str
    intro: str
    table: Table | None
    findings: list[str]
    figure: Any = None  # a plotly Figure, HTML only


# ----------------------------------------------------------------- formatting


def _pct(mean: float | None, std: float | None = None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if std is None or math.isnan(std):
        return f"{100 * mean:.2f}"
    return f"{100 * mean:.2f} ± {100 * std:.2f}"


def _p(p: float | None) -> str:
    return "-" if p is None else f"{p:.2e}"


def _paper_pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _versus(ours: float, theirs: float, what: str) -> str:
    """'above WHAT by 1.23 points', 'below ...' or 'equal to WHAT', at the precision the tables show."""
    if round(100 * ours, 2) == round(100 * theirs, 2):
        return f"equal to {what}"
    diff = 100 * (ours - theirs)
    return f"{'above' if diff > 0 else 'below'} {what} by {abs(diff):.2f} points"


def _significance(c: dict[str, Any] | None) -> str:
    """'corrected p=0.054, Holm p=0.27, not significant at 0.05' from one comparison of ProtocolResult.compare."""
    if c is None or c.get("p_corrected") is None:
        return "no p-value: needs at least 2 splits"
    holm = c.get("p_holm")
    verdict = "significant" if holm is not None and holm < SIGNIFICANCE else "not significant"
    return (f"corrected p={c['p_corrected']:.2g}, Holm p={holm:.2g}, {verdict} at {SIGNIFICANCE}; "
            f"paired t-test p={c['p_naive']:.2g}")


def comparisons(result: ProtocolResult) -> list[dict[str, Any]]:
    """Every comparison of the report with p_naive, p_corrected and p_holm (Holm within each family:
    Table 1, Table 2, Table 3, the order probe, the sparsity ablation)."""
    families = {
        "Table 1": [(n, REFERENCE) for n in TABLE1_METHODS if n != REFERENCE],
        "Table 2": [("CONV", REFERENCE)],
        "Table 3": [(subset_name(letters), REFERENCE) for letters in MODALITY_SUBSETS],
        "Order probe": list(PROBE_PAIRS),
        "Sparsity ablation": [ABLATION],
    }
    return [row for family, pairs in families.items() for row in result.compare(pairs, family)]


def _family(result: ProtocolResult, family: str) -> dict[str, dict[str, Any]]:
    return {c["method"]: c for c in comparisons(result) if c["family"] == family}


def _compare_rows(result: ProtocolResult, rows: Sequence[tuple[str, str, tuple | None]], reference: str,
                  family: str, ref_words: str | None = None) -> Section:
    """Rows of (label, method name, paper tuple) -> table and findings against `reference` (called
    `ref_words` in the sentences, default its row label); p-values from the comparisons of `family`."""
    table_rows, findings = [], []
    measured = {name: result.summary(name) for _, name, _ in rows if name in result.runs}
    tests = _family(result, family)
    for label, name, paper in rows:
        s = measured.get(name)
        c = tests.get(name, {})
        ours = [_pct(s["micro_f1_mean"], s["micro_f1_std"]), _pct(s["macro_f1_mean"], s["macro_f1_std"]),
                _p(c.get("p_corrected")), _p(c.get("p_holm")), _p(c.get("p_naive"))] if s else \
            ["not run", "not run", "-", "-", "-"]
        theirs = [_paper_pct(paper[0]), _paper_pct(paper[1]), _p(paper[2])] if paper else ["-", "-", "-"]
        table_rows.append([label, *ours, *theirs])
    ref = measured.get(reference)
    ref_row = next((label for label, name, _ in rows if name == reference), reference)
    ref_label = ref_words or ref_row
    ref_paper = next((paper for _, name, paper in rows if name == reference), None)
    if ref is None:
        findings.append(f"{ref_label} was not run, so nothing is compared with it.")
    else:
        for label, name, paper in rows:
            s = measured.get(name)
            if name == reference or s is None:
                continue
            macro = _versus(ref["macro_f1_mean"], s["macro_f1_mean"], f"{label}'s")
            micro = _versus(ref["micro_f1_mean"], s["micro_f1_mean"], "it")
            text = f"{ref_label}'s Macro-F is {macro} ({_significance(tests.get(name))}); its Micro-F is {micro}."
            if paper and ref_paper:
                text += f" The paper reports {ref_label} ahead by {ref_paper[1] - paper[1]:.2f} Macro-F points."
            findings.append(text)
        ran = [(label, measured[name]) for label, name, _ in rows if name in measured]
        # compare at the precision shown, so a tie in the table reads as a tie
        ref_shown = round(100 * ref["macro_f1_mean"], 2)
        higher = [(label, s) for label, s in ran if round(100 * s["macro_f1_mean"], 2) > ref_shown]
        tied = [label for label, s in ran if label != ref_row and round(100 * s["macro_f1_mean"], 2) == ref_shown]
        if higher:
            best_label, best = max(higher, key=lambda item: item[1]["macro_f1_mean"])
            findings.append(f"{ref_label} does NOT have the highest Macro-F here: {best_label} does "
                            f"({_pct(best['macro_f1_mean'])} vs {_pct(ref['macro_f1_mean'])}); the paper has "
                            f"{ref_label} first.")
        elif tied:
            findings.append(f"{ref_label} shares the highest Macro-F of this table with {', '.join(tied)} "
                            f"({_pct(ref['macro_f1_mean'])}); the paper has {ref_label} first on its own.")
        else:
            findings.append(f"{ref_label} has the highest Macro-F of this table, as in the paper.")
    headers = ["Method", "Micro-F % (ours)", "Macro-F % (ours)", "p corrected (ours)", "p Holm (ours)",
               "p paired t (ours)", "Micro-F % (paper)", "Macro-F % (paper)", "p (paper)"]
    return Section("", "", Table(headers, table_rows), findings)


# ----------------------------------------------------------------- sections


def table1(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [(TABLE1_LABELS.get(name, name), name, paper["table1"].get(TABLE1_PAPER_ROW.get(name, name)))
            for name in TABLE1_METHODS if name in result.runs or name in ("EASTERN", "LSTMs", "LSTM+DL")]
    sec = _compare_rows(result, rows, REFERENCE, "Table 1")
    sec.title = "Table 1: EASTERN against the baselines"
    sec.intro = "Micro-F and Macro-F on the test part, mean ± standard deviation over the splits. " + P_NOTE
    skipped = [n for n in ("TMDL", "TMDL-CS", "DMDL", "TRUMANN") if n not in result.runs]
    if skipped:
        sec.findings.append(f"Not run here: {', '.join(skipped)}.")
    if "TMDL" in result.runs or "TMDL-CS" in result.runs:
        sec.findings.append(TMDL_NOTE)
    return sec


def table2(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [("CONV", "CONV", paper["table2"]["CONV"]), ("EASTERN", REFERENCE, paper["table2"]["EASTERN"])]
    sec = _compare_rows(result, rows, REFERENCE, "Table 2")
    sec.title = "Table 2: EASTERN without its LSTMs (CONV)"
    sec.intro = ("CONV mean-pools each modality's sequence instead of reading it with an LSTM. p-values as in "
                 "Table 1.")
    return sec


def table3(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [(letters, subset_name(letters), paper["table3"][letters]) for letters in MODALITY_SUBSETS]
    rows.append(("all", REFERENCE, paper["table3"]["all"]))
    sec = _compare_rows(result, rows, REFERENCE, "Table 3", ref_words="EASTERN (V+A+T)")
    sec.title = "Table 3: EASTERN on modality combinations"
    sec.intro = ("EASTERN trained on V (visual), A (acoustic), T (textual) and their pairs; 'all' is the "
                 "EASTERN row of Table 1 (the same runs). p-values as in Table 1, Holm over this table's six "
                 "comparisons.")
    return sec


def _main(result: ProtocolResult) -> set[str]:
    """The methods of Tables 1-3 (not the order probe or the ablation): Figure 6 and Table 5 show these."""
    return {m.name for m in result.methods if m.role == "main"}


def figure6(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    main = _main(result)
    curves = {name: c for name, c in result.curves.items() if c and name in main}
    intro = ("Test Micro-F after each epoch of the deep models, on the first split (the model is not "
             "chosen by these numbers: early stopping uses the validation slice; a curve ends where its "
             "early stopping did).")
    if not curves:
        return Section("Figure 6: Micro-F per epoch", intro, None, ["No deep model was run."])
    epochs = sorted({p["epoch"] for c in curves.values() for p in c})
    names = list(curves)
    rows = []
    for e in epochs:
        row = [str(e)]
        for name in names:
            point = next((p for p in curves[name] if p["epoch"] == e), None)
            row.append(_pct(point["micro_f1"]) if point else "-")
        rows.append(row)
    findings = [f"The paper: {paper['figure6']}"]
    if REFERENCE in curves and len(curves) > 1:
        ref = {p["epoch"]: p["micro_f1"] for p in curves[REFERENCE]}
        ahead = sum(1 for e in epochs if e in ref and all(
            ref[e] >= p["micro_f1"] for n, c in curves.items() if n != REFERENCE for p in c if p["epoch"] == e))
        findings.append(f"Here EASTERN's test Micro-F is at or above every other deep model's at {ahead} of "
                        f"{len(ref)} epochs.")
    for name, c in curves.items():
        if len(c) >= 2:
            vals = [p["micro_f1"] for p in c]
            findings.append(f"{name}: {_pct(vals[0])} after epoch {c[0]['epoch']}, {_pct(vals[-1])} after epoch "
                            f"{c[-1]['epoch']} (range {100 * (max(vals) - min(vals)):.2f} points).")
    fig = None
    try:
        from core.figures import epoch_curves_figure

        fig = epoch_curves_figure(curves, template="plotly_white", height=420)
    except ImportError:  # plotly is a dependency; the markdown table still carries the numbers
        pass
    return Section("Figure 6: Micro-F per epoch", intro, Table(["epoch", *names], rows), findings, fig)


def choose_case_videos(result: ProtocolResult, per_kind: int = 2) -> list[dict[str, Any]]:
    """Videos of the first split's test set for the case study: ones only EASTERN gets right, ones
    every model gets wrong (as in the paper), else ones EASTERN gets right and most others wrong."""
    pred = result.predictions
    main = _main(result)
    methods = {m: p for m, p in pred.get("methods", {}).items() if m in main}
    truth = pred.get("truth", [])
    if not methods or not truth:
        return []
    others = [m for m in methods if m != REFERENCE]
    chosen: list[dict[str, Any]] = []

    def right(m: str, i: int) -> bool:
        return methods[m][i] == truth[i]

    n = len(truth)
    all_wrong = [i for i in range(n) if not any(right(m, i) for m in methods)]
    if REFERENCE in methods:
        only_ref = [i for i in range(n) if right(REFERENCE, i) and not any(right(m, i) for m in others)]
        kind = "right only with EASTERN"
        if not only_ref:  # fall back: EASTERN right, as few others right as possible
            ref_right = [i for i in range(n) if right(REFERENCE, i)]
            only_ref = sorted(ref_right, key=lambda i: (sum(right(m, i) for m in others), i))
            kind = "EASTERN right, fewest others right"
        chosen += [{"index": i, "kind": kind} for i in only_ref[:per_kind]]
    chosen += [{"index": i, "kind": "wrong for every model"} for i in all_wrong[:per_kind]]
    for c in chosen:
        c["key"] = pred["keys"][c["index"]]
    return chosen


def table5(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    names = result.dataset.get("class_names", [])
    cases = choose_case_videos(result)
    intro = ("Predictions of every model for a few test videos of the first split, chosen as in the paper: "
             "videos only EASTERN gets right and videos every model gets wrong.")
    paper_rows = paper["table5"]
    findings = ["The paper's Table 5: " + "; ".join(
        f"{v}: truth {paper_rows['Ground Truth'][i]}, EASTERN {paper_rows['EASTERN'][i]}"
        for i, v in enumerate(paper_rows["videos"])) + "."]
    if not cases:
        return Section("Table 5: case study", intro, None, ["No per-video predictions were recorded.", *findings])
    main = _main(result)
    methods = {m: p for m, p in result.predictions["methods"].items() if m in main}
    truth = result.predictions["truth"]

    def name(label: int) -> str:
        return names[label] if 0 <= label < len(names) else str(label)

    headers = ["Model", *[f"v{k + 1} ({c['key'][:10]})" for k, c in enumerate(cases)]]
    rows = [[m, *[name(methods[m][c["index"]]) for c in cases]] for m in methods]
    rows.append(["Ground Truth", *[name(truth[c["index"]]) for c in cases]])
    kinds = [f"v{k + 1}: {c['kind']}" for k, c in enumerate(cases)]
    n = len(truth)
    n_only = sum(1 for i in range(n) if REFERENCE in methods and methods[REFERENCE][i] == truth[i]
                 and all(methods[m][i] != truth[i] for m in methods if m != REFERENCE))
    n_wrong = sum(1 for i in range(n) if all(methods[m][i] != truth[i] for m in methods))
    ours = [f"Chosen: {'; '.join(kinds)}.",
            f"Of {n} test videos, {n_only} are right only with EASTERN and {n_wrong} are wrong for every model."]
    return Section("Table 5: case study", intro, Table(headers, rows), ours + findings)


def sparsity_section(result: ProtocolResult) -> Section:
    rows, findings = [], []
    for m in result.methods:
        s = result.summary(m.name) if m.name in result.runs else None
        if s and s.get("sparsity") is not None:
            rows.append([m.name, f"{100 * s['sparsity']:.1f}"])
    if not rows:
        findings.append("No model with a dictionary layer was run.")
        return Section("Sparsity of the atom codes", "", None, findings)
    if REFERENCE in result.runs and result.summary(REFERENCE).get("sparsity") is not None:
        findings.append(f"{100 * result.summary(REFERENCE)['sparsity']:.1f}% of EASTERN's atom activations are "
                        f"exactly zero on the test videos (ReLU codes; the paper gives no number).")
    return Section("Sparsity of the atom codes",
                   "Fraction of atom activations (K per modality per video) that are exactly zero, on the "
                   "test part, mean over splits.", Table(["Model", "zero activations %"], rows), findings)


def _range(values: Sequence[int] | None) -> str:
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return f"{mean:.1f} ({min(values)}-{max(values)})"


def epochs_section(result: ProtocolResult) -> Section:
    """The epochs every method used: deep models stop early on validation Macro-F; TMDL keeps its best epoch."""
    c = result.config
    rows = []
    for m in result.methods:
        runs = result.runs.get(m.name, [])
        if not runs:
            continue
        s = result.summary(m.name)
        early = sum(1 for r in runs if r.get("stopped_early"))
        stopped = f"{early} of {len(runs)}" if m.kind == "deep" else "-"
        rows.append([m.name, _range(s["best_epoch"]), _range(s["epochs_run"]) if m.kind == "deep" else "-", stopped])
    patience = c.get("patience")
    intro = (f"Deep models train for at most {c['epochs']} epochs"
             + (f" and stop after {patience} epochs without a better validation Macro-F" if patience else "")
             + "; the epoch with the best validation Macro-F is kept. Mean (min-max) over the splits. TMDL keeps "
               "its best epoch on validation too (0 = its DMDL start); DMDL and TRUMANN have no epochs.")
    findings = []
    capped = [m.name for m in result.methods if m.kind == "deep" and any(
        r.get("epochs_run") == c["epochs"] and not r.get("stopped_early") for r in result.runs.get(m.name, []))]
    if capped:
        findings.append(f"Ran the whole {c['epochs']}-epoch cap without stopping early in at least one split (they "
                        f"might still have improved): {', '.join(capped)}.")
    elif patience and rows:
        findings.append("Every deep run stopped early, before the cap.")
    return Section("Training length", intro, Table(["Method", "best epoch", "epochs run", "stopped early"], rows),
                   findings)


def pair_confusion(result: ProtocolResult, name: str, pairs: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    """Over every split's test videos of `name`: for each venue pair, how many videos of the pair were
    predicted as the partner (swapped), as their own venue (right), and how many there were (n). None when
    the runs hold no confusion matrices."""
    runs = result.runs.get(name, [])
    if not runs or any("confusion" not in r for r in runs):
        return None
    classes = list(result.dataset.get("class_names", []))
    total = None
    for r in runs:
        m = [list(map(int, row)) for row in r["confusion"]]
        total = m if total is None else [[a + b for a, b in zip(x, y, strict=True)]
                                         for x, y in zip(total, m, strict=True)]
    out: dict[str, Any] = {"pairs": {}, "swapped": 0, "right": 0, "n": 0}
    for a, b in pairs:
        ia, ib = classes.index(a), classes.index(b)
        counts = {"swapped": total[ia][ib] + total[ib][ia], "right": total[ia][ia] + total[ib][ib],
                  "n": sum(total[ia]) + sum(total[ib])}
        out["pairs"][f"{a} / {b}"] = counts
        for key, value in counts.items():
            out[key] += value
    return out


def _rate(c: dict[str, Any] | None) -> float | None:
    """Of the pair videos predicted as one of the pair's two venues, the share given the partner's:
    50% is a coin flip between the two, 0% separates them perfectly."""
    if not c or not (c["swapped"] + c["right"]):
        return None
    return c["swapped"] / (c["swapped"] + c["right"])


def order_probe_section(result: ProtocolResult) -> Section:
    """Does frame order matter? V-only models on ordered and shuffled frames, and the venue pairs whose
    recipes differ only in shot order."""
    title = "Order probe: do the models read frame order?"
    intro = ("EASTERN V and LSTMs V trained and tested with every video's 12 frames in a fixed random order "
             "(one permutation per video, seed of the protocol), beside the same models on ordered frames and "
             "CONV V (mean-pooled frames, blind to order by construction), on the same splits. 'order pairs "
             "swapped': over all splits' test videos of the venue pairs whose demo recipes show the same shots in "
             "another order, of those predicted as one of their pair's two venues, the share predicted as the "
             "partner (50% = a coin flip between the two, 0% = perfectly separated; counts swapped/(swapped + "
             "right)).")
    ran = [(name, how) for name, how in PROBE_ROWS if name in result.runs]
    if not any(name.endswith("shuffled") for name, _ in ran):
        return Section(title, intro, None, ["The order probe was not run."])
    pairs = order_only_pairs(result.dataset.get("class_names", []))
    tests = _family(result, "Order probe")
    rows = []
    confusions = {}
    for name, how in ran:
        s = result.summary(name)
        confusions[name] = pair_confusion(result, name, pairs) if pairs else None
        rate = _rate(confusions[name])
        c = tests.get(name, {})
        conf = confusions[name]
        swapped = "-" if rate is None else f"{100 * rate:.1f} ({conf['swapped']}/{conf['swapped'] + conf['right']})"
        rows.append([name, how, _pct(s["micro_f1_mean"], s["micro_f1_std"]),
                     _pct(s["macro_f1_mean"], s["macro_f1_std"]), swapped,
                     c.get("reference", "-") if c else "-", _p(c.get("p_corrected")), _p(c.get("p_holm"))])
    findings = []
    for method, reference in PROBE_PAIRS:
        if method not in result.runs or reference not in result.runs:
            continue
        a, b = result.summary(reference), result.summary(method)
        verb = _versus(b["macro_f1_mean"], a["macro_f1_mean"], f"{reference}'s")
        findings.append(f"{method}'s Macro-F is {verb} ({_significance(tests.get(method))}).")
    if not pairs:
        findings.append("No venue pairs that differ only in shot order among these classes (not the demo corpus).")
    else:
        findings.append("Order-only pairs: " + ", ".join(f"{a} / {b}" for a, b in pairs) + ". A model that "
                        "knows the pair but not the order would swap about half of its in-pair predictions.")
        for name, _how in ran:
            conf = confusions.get(name)
            if _rate(conf) is not None:
                per = "; ".join(f"{k} {v['swapped']} swapped, {v['right']} right of {v['n']}"
                                for k, v in conf["pairs"].items())
                findings.append(f"{name} swaps {100 * _rate(conf):.1f}% of its in-pair predictions ({per}).")
        ordered, shuffled = _rate(confusions.get("EASTERN V")), _rate(confusions.get("EASTERN V shuffled"))
        if ordered is not None and shuffled is not None:
            if shuffled > ordered:
                findings.append(f"Shuffling frames raises EASTERN V's order-pair swaps from {100 * ordered:.1f}% to "
                                f"{100 * shuffled:.1f}%: its LSTM uses frame order to separate these venues.")
            else:
                findings.append(f"Shuffling frames does not raise EASTERN V's order-pair swaps ({100 * ordered:.1f}% "
                                f"ordered, {100 * shuffled:.1f}% shuffled): on this corpus it does not separate "
                                "these venues by frame order.")
    headers = ["Method", "frames", "Micro-F %", "Macro-F %", "order pairs swapped %", "compared with", "p corrected",
               "p Holm"]
    return Section(title, intro, Table(headers, rows), findings)


def ablation_section(result: ProtocolResult) -> Section:
    """EASTERN with an L1 penalty on its atom codes against the paper's objective."""
    title = "Sparsity ablation: an L1 penalty on the atom codes"
    name, reference = ABLATION
    intro = ("EASTERN trained with code_l1 * mean(atom codes) added to the cross-entropy (the codes are ReLU "
             "outputs, so this is their L1 norm), the weight chosen per split on validation Macro-F; the default "
             "EASTERN keeps the paper's objective (cross-entropy only).")
    if name not in result.runs or reference not in result.runs:
        return Section(title, intro, None, ["The ablation was not run."])
    test = _family(result, "Sparsity ablation").get(name)
    rows = []
    for n in (reference, name):
        s = result.summary(n)
        chosen = [r.get("best_params", {}).get("code_l1") for r in result.runs[n]]
        weights = "0 (paper)" if n == reference else ", ".join(f"{w:g}" for w in chosen if w is not None)
        rows.append([n, weights, "-" if s["sparsity"] is None else f"{100 * s['sparsity']:.1f}",
                     _pct(s["micro_f1_mean"], s["micro_f1_std"]), _pct(s["macro_f1_mean"], s["macro_f1_std"])])
    a, b = result.summary(reference), result.summary(name)
    findings = [f"{name}'s Macro-F is {_versus(b['macro_f1_mean'], a['macro_f1_mean'], reference + chr(39) + 's')} "
                f"({_significance(test)})."]
    if a["sparsity"] is not None and b["sparsity"] is not None:
        findings.append(f"Zero atom codes: {100 * b['sparsity']:.1f}% with the penalty, {100 * a['sparsity']:.1f}% "
                        "without.")
    grid = next((m.train_grid.get("code_l1") for m in result.methods if m.name == name), None)
    if grid:
        findings.append(f"Weights tried per split: {', '.join(f'{w:g}' for w in grid)}.")
    headers = ["Method", "L1 weight per split", "zero codes %", "Micro-F %", "Macro-F %"]
    return Section(title, intro, Table(headers, rows), findings)


def setup_section(result: ProtocolResult) -> Section:
    c, d = result.config, result.dataset
    split = ("the file's own train / valid / test split (one split, so no p-values)" if c.get("given_split")
             else f"{c['n_splits']} random splits, {100 * c['test_size']:.1f}% test, {100 * c['val_fraction']:.0f}% "
                  f"of the training part for validation, stratified by class, seed {c['seed']}")
    sizes = result.splits[0] if result.splits else {}
    lines = [
        f"Data: {d.get('name', 'features')} ({d.get('source', 'unknown source')}), {d['n_videos']} videos, "
        f"{d['n_classes']} venue classes; feature sizes visual {d['dims']['visual']}, acoustic "
        f"{d['dims']['acoustic']}, textual {d['dims']['textual']}.",
        f"Protocol: {split}; first split: {len(sizes.get('train', []))} train, {len(sizes.get('val', []))} "
        f"validation, {len(sizes.get('test', []))} test.",
        f"Deep models: at most {c['epochs']} epochs"
        + (f", early stopping after {c['patience']} epochs without a better validation Macro-F" if c.get("patience")
           else "") + ", the epoch with the best validation Macro-F kept"
        + (f"; model overrides {c['model_overrides']}" if c.get("model_overrides") else "; Table 4 sizes")
        + (f"; training overrides {c['train_overrides']}" if c.get("train_overrides") else "") + ".",
        f"Selection: every method is selected on the validation slice by one criterion, validation "
        f"{'Macro-F' if c.get('select_metric', 'macro_f1') == 'macro_f1' else c.get('select_metric')} (deep models' "
        "epochs, the shallow baselines' hyperparameters and TMDL's epochs); the test part is used only to report.",
        _word2vec_line(c.get("word2vec", {})),
        f"Run time {result.seconds / 60:.1f} min for {sum(len(r) for r in result.runs.values())} trainings.",
        "The paper used 20,093 Vine videos in 22 venues with AlexNet features; numbers on another corpus are "
        "not expected to match it, only the comparisons between methods are.",
    ]
    if d.get("note"):
        lines.append(str(d["note"]))
    return Section("What was measured", "", None, lines)


def _word2vec_line(w2v: dict[str, Any]) -> str:
    if w2v.get("per_split"):
        sizes = w2v.get("vocab_sizes") or []
        return (f"Text: word2vec fitted again on each split's training captions only (seed {w2v.get('seed')}; "
                f"vocabulary {min(sizes)}-{max(sizes)} words), so no validation or test caption shapes the vectors."
                if sizes else "Text: word2vec fitted on each split's training captions only.")
    return ("Text: the features' own word vectors are used as they are (pre-trained vectors or imported text "
            "features; when they were fitted on this corpus's captions, test captions took part, label-free).")


def build_sections(result: ProtocolResult, paper: dict[str, Any] = PAPER) -> list[Section]:
    return [setup_section(result), table1(result, paper), table2(result, paper), table3(result, paper),
            epochs_section(result), order_probe_section(result), ablation_section(result),
            figure6(result, paper), table5(result, paper), sparsity_section(result)]


# ----------------------------------------------------------------- writing


def to_markdown(sections: Sequence[Section], title: str = "EASTERN reproduction report") -> str:
    out = [f"# {title}", ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        if sec.intro:
            out += [sec.intro, ""]
        if sec.table is not None:
            out += [sec.table.markdown(), ""]
        out += [f"- {line}" for line in sec.findings] + [""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .6em;
text-align:left}th{background:#f3f3f3}h2{margin-top:2em;border-bottom:1px solid #ddd}"""


def to_html(sections: Sequence[Section], title: str = "EASTERN reproduction report") -> str:
    import plotly.io as pio

    parts, js_done = [], False
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.intro:
            parts.append(f"<p>{html.escape(sec.intro)}</p>")
        if sec.figure is not None:
            # plotly.js goes inline once (no network when the page is viewed); later figures reuse it
            parts.append(pio.to_html(sec.figure, full_html=False, include_plotlyjs=not js_done))
            js_done = True
        if sec.table is not None:
            parts.append(sec.table.html())
        if sec.findings:
            parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in sec.findings) + "</ul>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>")


def _bar_figure(result: ProtocolResult, paper: dict[str, Any]):  # noqa: ANN202 - plotly Figure
    import plotly.graph_objects as go

    labels, ours, theirs = [], [], []
    for name in TABLE1_METHODS + ("CONV",):
        if name in result.runs:
            labels.append(name)
            ours.append(100 * result.summary(name)["macro_f1_mean"])
            ref = paper["table1"].get(name) or paper["table2"].get(name)
            theirs.append(ref[1] if ref else None)
    fig = go.Figure([go.Bar(name="ours", x=labels, y=ours), go.Bar(name="paper", x=labels, y=theirs)])
    fig.update_layout(barmode="group", title="Macro-F (%): ours vs the paper", template="plotly_white", height=380)
    return fig


def write_report(result: ProtocolResult, out_dir: str | Path, paper_numbers: dict[str, Any] = PAPER) -> dict[str, Path]:
    """Write report.md, report.html and results.json into out_dir; returns their paths."""
    out = Path(out_dir)
    make_dirs(out)
    sections = build_sections(result, paper_numbers)
    if any(m in result.runs for m in TABLE1_METHODS):
        sections[1].figure = _bar_figure(result, paper_numbers)
    paths = {"md": out / "report.md", "html": out / "report.html", "json": out / "results.json"}
    atomic_write_text(paths["md"], to_markdown(sections), private=False)
    atomic_write_text(paths["html"], to_html(sections), private=False)
    payload = {**result.to_dict(), "paper": paper_numbers, "case_study": choose_case_videos(result),
               "comparisons": comparisons(result), "findings": {sec.title: sec.findings for sec in sections}}
    atomic_write_json(paths["json"], jsonable(payload), private=False, indent=1, ensure_ascii=False, allow_nan=False)
    return paths


def summary_markdown(result: ProtocolResult, paper: dict[str, Any] = PAPER) -> str:
    """Table 1, Table 3 and the order probe with their findings, for the terminal."""
    return to_markdown([table1(result, paper), table3(result, paper), order_probe_section(result)], title="Measured")


__all__ = ["PAPER", "Section", "Table", "build_sections", "choose_case_videos", "summary_markdown", "write_report"]
