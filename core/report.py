"""The reproduction report: our measurements beside the paper's Tables 1-3, Figure 6 and Table 5.

``write_report(result, out_dir)`` writes ``report.md``, ``report.html`` (Plotly figures, plotly.js
embedded once so the page needs no network) and ``results.json`` (the ProtocolResult plus the paper's
numbers and the findings). Every table is followed by sentences generated from the numbers, including
where EASTERN does not win.
"""
from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.protocol import MODALITY_SUBSETS, REFERENCE, ProtocolResult, _jsonable, subset_name

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

TABLE1_METHODS = ("LSTMs", "LSTM+DL", "TMDL", "DMDL", "TRUMANN", "EASTERN")
SIGNIFICANCE = 0.05


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


def _significance(p: float | None) -> str:
    if p is None:
        return "no p-value: needs at least 2 splits"
    return f"p={p:.2g}, {'significant' if p < SIGNIFICANCE else 'not significant'} at {SIGNIFICANCE}"


def _compare_rows(result: ProtocolResult, rows: Sequence[tuple[str, str, tuple | None]], reference: str,
                  ref_words: str | None = None) -> Section:
    """Rows of (label, method name, paper tuple) -> table and findings against `reference` (called
    `ref_words` in the sentences, default its row label)."""
    table_rows, findings = [], []
    measured = {name: result.summary(name) for _, name, _ in rows if name in result.runs}
    for label, name, paper in rows:
        s = measured.get(name)
        ours = [_pct(s["micro_f1_mean"], s["micro_f1_std"]), _pct(s["macro_f1_mean"], s["macro_f1_std"]),
                _p(s["p_value"])] if s else ["not run", "not run", "-"]
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
            text = f"{ref_label}'s Macro-F is {macro} ({_significance(s['p_value'])}); its Micro-F is {micro}."
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
    headers = ["Method", "Micro-F % (ours)", "Macro-F % (ours)", "p (ours)", "Micro-F % (paper)",
               "Macro-F % (paper)", "p (paper)"]
    return Section("", "", Table(headers, table_rows), findings)


# ----------------------------------------------------------------- sections


def table1(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [(name, name, paper["table1"].get(name)) for name in TABLE1_METHODS
            if name in result.runs or name in ("EASTERN", "LSTMs", "LSTM+DL")]
    sec = _compare_rows(result, rows, REFERENCE)
    sec.title = "Table 1: EASTERN against the baselines"
    sec.intro = ("Micro-F and Macro-F on the test part, mean ± standard deviation over the splits; p is a "
                 "paired t-test over the splits of each method's Macro-F against EASTERN's.")
    skipped = [n for n in ("TMDL", "DMDL", "TRUMANN") if n not in result.runs]
    if skipped:
        sec.findings.append(f"Not run here: {', '.join(skipped)}.")
    return sec


def table2(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [("CONV", "CONV", paper["table2"]["CONV"]), ("EASTERN", REFERENCE, paper["table2"]["EASTERN"])]
    sec = _compare_rows(result, rows, REFERENCE)
    sec.title = "Table 2: EASTERN without its LSTMs (CONV)"
    sec.intro = "CONV mean-pools each modality's sequence instead of reading it with an LSTM."
    return sec


def table3(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    rows = [(letters, subset_name(letters), paper["table3"][letters]) for letters in MODALITY_SUBSETS]
    rows.append(("all", REFERENCE, paper["table3"]["all"]))
    sec = _compare_rows(result, rows, REFERENCE, ref_words="EASTERN (V+A+T)")
    sec.title = "Table 3: EASTERN on modality combinations"
    sec.intro = ("EASTERN trained on V (visual), A (acoustic), T (textual) and their pairs; 'all' is the "
                 "EASTERN row of Table 1 (the same runs).")
    return sec


def figure6(result: ProtocolResult, paper: dict[str, Any]) -> Section:
    curves = {name: c for name, c in result.curves.items() if c}
    intro = ("Test Micro-F after each epoch of the deep models, on the first split (the model is not "
             "chosen by these numbers: early stopping uses the validation slice).")
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
        import plotly.graph_objects as go

        fig = go.Figure()
        for name, c in curves.items():
            fig.add_trace(go.Scatter(x=[p["epoch"] for p in c], y=[100 * p["micro_f1"] for p in c],
                                     mode="lines+markers", name=name))
        fig.update_layout(title="Figure 6: test Micro-F per epoch (first split)", xaxis_title="epoch",
                          yaxis_title="Micro-F (%)", template="plotly_white", height=420)
    except ImportError:  # plotly is a dependency; the markdown table still carries the numbers
        pass
    return Section("Figure 6: Micro-F per epoch", intro, Table(["epoch", *names], rows), findings, fig)


def choose_case_videos(result: ProtocolResult, per_kind: int = 2) -> list[dict[str, Any]]:
    """Videos of the first split's test set for the case study: ones only EASTERN gets right, ones
    every model gets wrong (as in the paper), else ones EASTERN gets right and most others wrong."""
    pred = result.predictions
    methods = pred.get("methods", {})
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
    methods = result.predictions["methods"]
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
        f"Deep models: at most {c['epochs']} epochs, the epoch with the best validation Macro-F kept"
        + (f"; model overrides {c['model_overrides']}" if c.get("model_overrides") else "; Table 4 sizes")
        + (f"; training overrides {c['train_overrides']}" if c.get("train_overrides") else "") + ".",
        f"Run time {result.seconds / 60:.1f} min for {sum(len(r) for r in result.runs.values())} trainings.",
        "The paper used 20,093 Vine videos in 22 venues with AlexNet features; numbers on another corpus are "
        "not expected to match it, only the comparisons between methods are.",
    ]
    if d.get("note"):
        lines.append(str(d["note"]))
    return Section("What was measured", "", None, lines)


def build_sections(result: ProtocolResult, paper: dict[str, Any] = PAPER) -> list[Section]:
    return [setup_section(result), table1(result, paper), table2(result, paper), table3(result, paper),
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
    out.mkdir(parents=True, exist_ok=True)
    sections = build_sections(result, paper_numbers)
    if any(m in result.runs for m in TABLE1_METHODS):
        sections[1].figure = _bar_figure(result, paper_numbers)
    paths = {"md": out / "report.md", "html": out / "report.html", "json": out / "results.json"}
    _atomic_write(paths["md"], to_markdown(sections))
    _atomic_write(paths["html"], to_html(sections))
    payload = {**result.to_dict(), "paper": paper_numbers, "case_study": choose_case_videos(result),
               "findings": {sec.title: sec.findings for sec in sections}}
    _atomic_write(paths["json"], json.dumps(_jsonable(payload), indent=1, ensure_ascii=False, allow_nan=False))
    return paths


def summary_markdown(result: ProtocolResult, paper: dict[str, Any] = PAPER) -> str:
    """Table 1 and Table 3 with their findings, for the terminal."""
    return to_markdown([table1(result, paper), table3(result, paper)], title="Measured")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


__all__ = ["PAPER", "Section", "Table", "build_sections", "choose_case_videos", "summary_markdown", "write_report"]
