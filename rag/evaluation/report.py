"""Readable results: a terminal table, a Markdown report, a hit@k plot, and
comparisons with a baseline report."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

from rag.errors import EvalDataError
from rag.evaluation.metrics import RETRIEVAL_METRICS
from rag.evaluation.qa import MAX_EVAL_BYTES, read_bounded, read_json_line
from rag.evaluation.runner import ANSWER_METRICS, FORM_METRICS, EvalResult
from rag.text import safe, safe_json

METRIC_ORDER = (*RETRIEVAL_METRICS, *ANSWER_METRICS, *FORM_METRICS)
# Metrics where smaller is better; every other one is better when larger.
LOWER_IS_BETTER = {"false_abstain_rate", "confident_oos_rate", "caution_rate", *FORM_METRICS[1:]}


def table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table, which also reads well in a terminal."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def metrics_table(results: list[EvalResult], names=METRIC_ORDER) -> str:
    rows = [{"retriever": r.retriever, **{m: f"{r.metrics[m]:.3f}" for m in names if m in r.metrics}} for r in results]
    return table(rows, ["retriever", *[m for m in names if m in results[0].metrics]])


# Every ASCII punctuation mark that Markdown gives a meaning inside a line:
# emphasis, code, links and images, tables, strikethrough, headings.
_MD_PUNCT = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def _one_line(text) -> str:
    """On one line, with no control character: ESC or BEL from an eval file
    would act on the terminal of whoever reads the report with cat."""
    return " ".join(safe(str(text)).split())


def _md(text: str) -> str:
    """Corpus or question text made inert in Markdown: no HTML, links, images,
    code spans or emphasis, no tables broken, on one line."""
    text = html.escape(_one_line(text), quote=False)  # &, <, > only: entities hold no punctuation
    return _MD_PUNCT.sub(r"\\\1", text)


def _code(text) -> str:
    """An id or setting as a code span that its own backticks cannot end early.

    Inside a code span Markdown renders HTML as text; only a run of backticks
    as long as the fence closes it, so the fence is one longer than any run.
    """
    text = _one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _failure_order(q) -> tuple:
    if not q.answerable:
        return (0 if not q.abstained else 3, q.qid)
    rank = q.first_relevant_rank or 99
    return (1 if (not q.quote_hit or q.abstained) else (2 if rank > 1 else 4), -rank, q.qid)


def _question_lines(result: EvalResult) -> list[str]:
    lines = []
    for q in sorted(result.questions, key=_failure_order):
        if q.answerable:
            status = "PASS" if q.quote_hit and q.first_relevant_rank == 1 else "FAIL"
            detail = f"first relevant rank {q.first_relevant_rank or '—'}, quote_hit {'yes' if q.quote_hit else 'no'}"
        else:
            status = "PASS" if q.abstained else "FAIL"
            detail = "out of scope"
        if q.abstained:
            detail += ", abstained"
        lines.append(f"- **{status}** {_code(q.qid)}: {_md(q.question)} ({detail})")
        for quote in q.quotes:
            lines.append(
                f"  - [{quote['n']}] {_code(quote['doc_id'])} {quote['start']}–{quote['end']}: “{_md(quote['text'])}”"
            )
    return lines


def plot_hit_at_k(results: list[EvalResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for r in results:
        ks = list(range(1, len(r.hit_at) + 1))
        ax.plot(ks, r.hit_at, marker="o", label=r.retriever)
    ax.set_xlabel("k")
    ax.set_ylabel("hit@k")
    ax.set_xticks(range(1, 11))
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"hit@k on {Path(results[0].qa).name}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_baseline(path: str | Path) -> dict[str, dict]:
    """Runs by retriever from a report.json or a `rag eval --json` output."""
    path = Path(path)
    raw = read_bounded(path, MAX_EVAL_BYTES, "baseline")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise EvalDataError(f"baseline {path} is not UTF-8 text (bad byte at offset {err.start})") from None
    data = read_json_line(text, f"baseline {path}", max_depth=32)
    runs = data.get("runs", [data]) if isinstance(data, dict) else None
    if not runs or not all(isinstance(r, dict) and "retriever" in r and "metrics" in r for r in runs):
        raise EvalDataError(f"baseline {path} is neither a report.json nor `rag eval --json` output")
    return {r["retriever"]: r for r in runs}


def _worse(old: dict, new: dict) -> str | None:
    """Why a question got worse, or None."""
    o_rank, n_rank = old.get("first_relevant_rank") or 99, new.get("first_relevant_rank") or 99
    reasons = []
    if n_rank > o_rank:
        reasons.append(f"rank {old.get('first_relevant_rank') or '—'} → {new.get('first_relevant_rank') or '—'}")
    if old.get("quote_hit") and not new.get("quote_hit"):
        reasons.append("lost its quote hit")
    if old.get("abstained") != new.get("abstained"):
        answerable = new.get("quote_hit") is not None
        if answerable == bool(new.get("abstained")):
            reasons.append("now abstains" if new.get("abstained") else "no longer abstains")
    return ", ".join(reasons) or None


def compare(result: EvalResult, baseline: dict[str, dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    old = baseline.get(result.retriever)
    if old is None:
        return [], []
    deltas = []
    for m in METRIC_ORDER:
        if m in result.metrics and m in old["metrics"]:
            d = result.metrics[m] - old["metrics"][m]
            better = d < 0 if m in LOWER_IS_BETTER else d > 0
            deltas.append(
                {
                    "metric": m,
                    "baseline": f"{old['metrics'][m]:.3f}",
                    "now": f"{result.metrics[m]:.3f}",
                    "change": f"{d:+.3f}" + (" ✓" if better else (" ✗" if d else "")),
                }
            )
    previous = {q["id"]: q for q in old.get("per_question", [])}
    worse = []
    for q in result.to_json()["per_question"]:
        if q["id"] in previous and (why := _worse(previous[q["id"]], q)):
            worse.append((q["id"], why))
    return deltas, worse


def comparison_text(result: EvalResult, baseline: dict[str, dict]) -> str:
    deltas, worse = compare(result, baseline)
    if not deltas:
        return f"(no baseline run for retriever {result.retriever})"
    lines = [table(deltas, ["metric", "baseline", "now", "change"]), ""]
    lines.append(f"Questions that got worse ({len(worse)}):" if worse else "No question got worse.")
    lines += [f"- {_code(qid)}: {why}" for qid, why in worse]
    return "\n".join(lines)


def write_report(
    folder: str | Path,
    results: list[EvalResult],
    default: str,
    settings: dict,
    sweep: list[dict] | None = None,
    baseline: dict[str, dict] | None = None,
    notes: str = "",
) -> Path:
    """report.md, hit_at_k.png and report.json (usable as a later --baseline)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plot_hit_at_k(results, folder / "hit_at_k.png")
    main = next((r for r in results if r.retriever == default), results[0])
    out = [
        f"# Eval report: {Path(main.qa).name}",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        f"{main.n} questions, {main.n_answerable} answerable, {main.n - main.n_answerable} out of scope.",
        "",
        "## Settings",
        "",
    ]
    out += [f"- {k}: {_code(v)}" for k, v in settings.items()]
    out += [
        "",
        "## Metrics per retriever",
        "",
        f"Default retriever: **{default}**. Retrieval metrics at depth 10 on the answerable questions; "
        f"answer metrics from the same answers `rag ask` gives (k={main.k} passages).",
        "",
        metrics_table(results),
        "",
        "![hit@k](hit_at_k.png)",
        "",
    ]
    if notes:
        out += [notes.strip(), ""]
    if sweep:
        out += ["## Chunk size and overlap sweep", "", table(sweep, list(sweep[0])), ""]
    if baseline:
        out += ["## Compared with the baseline", ""]
        for r in results:
            out += [f"### {r.retriever}", "", comparison_text(r, baseline), ""]
    out += [
        f"## Per question ({main.retriever}), failures first",
        "",
        "A question passes when its first passage is relevant and a quotation hits a gold span "
        "(answerable), or when it abstains (out of scope).",
        "",
    ]
    out += _question_lines(main)
    (folder / "report.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    payload = {
        "default": default,
        "settings": settings,
        "sweep": sweep or [],
        "runs": [r.to_full_json() for r in results],
    }
    # Escaped, not dropped: a JSON reader gets every id back exactly.
    (folder / "report.json").write_text(safe_json(payload, indent=1), encoding="utf-8")
    return folder / "report.md"
