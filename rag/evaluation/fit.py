"""Fit the numbers behind answers for one embedding model: `rag calibrate`.

    rag calibrate --model minilm              # into the cache, for this machine
    rag calibrate --model mpnet --ship        # into rag/tuning/, as shipped

What is fitted, on the development sets only, over three kinds of documents
(DEV_CORPORA: the essays with eval/essays_qa.jsonl, eval/check_qa.jsonl,
eval/dev_qa.jsonl and eval/dev2_qa.jsonl; the real documents of
eval/realdocs_dev/; the lease, abstracts and kettle guide of eval/other/;
never on eval/holdout_qa.jsonl, eval/blind_qa.jsonl or eval/realdocs/):
1. the sentence-evidence weights (rag.retrieval.scoring), by a softmax over
   each question's sentences with its gold sentences as the target;
   kept only if 5-fold cross-validation by question beats the default weights;
   once over EVIDENCE, to rank passages (judged by the top passage), and once
   over QUOTE_EVIDENCE, to choose quotations (judged by the top sentence;
   each kept only if it beats the default weights);
2. the answerability model (rag.answer.abstain): a logistic regression
   over FEATURES, trained on answerable questions (positive), out-of-scope
   questions and answerable questions with their answer removed from the
   corpus (negative: near misses on the very same topic; the out-of-scope
   ones weighted to count, together, as much as those; each feature's
   weight kept to the sign of its meaning); its threshold is
   the one whose cross-validated false-abstention rate on answerable
   questions stays at or below --max-false-abstain, and its second
   threshold, under which an answer carries a caution, the one that
   at most --max-caution of them fall under.
The cross-validated figures are printed and written beside the tuning as a
Markdown report (eval/reports/current/tuning-<model>.md).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from rag.answer.abstain import CorpusTerms, features
from rag.embed.base import TokenEmbedder
from rag.errors import EvalDataError
from rag.evaluation.fit_answerability import (  # noqa: F401 (fit_logistic, kind_weights: eval/reader uses them)
    FOLDS,
    MAX_CAUTION,
    SEED,
    choose_answerability,
    fit_logistic,
    kind_weights,
)
from rag.evaluation.qa import load_qa
from rag.index.build import build_index
from rag.ingest.corpus import load_corpus
from rag.pipeline import Rag, project_root
from rag.retrieval.scoring import DEFAULT_WEIGHTS, EVIDENCE, QUOTE_EVIDENCE, SentenceScorer
from rag.settings import TUNING_DIR, cache_root, tuning_file_name, tuning_for

DEV_SETS = ("eval/essays_qa.jsonl", "eval/check_qa.jsonl", "eval/dev_qa.jsonl", "eval/dev2_qa.jsonl")
# (corpus folder, its development sets): answerability and weights must hold on
# manuals, FAQs and licences as on essays (the real-documents issue).
DEV_CORPORA = (
    ("corpus", DEV_SETS),
    ("eval/realdocs_dev/corpus", ("eval/realdocs_dev/realdocs_dev_qa.jsonl",)),
    ("eval/other/corpus", ("eval/other/other_qa.jsonl",)),
)
CANDIDATE_CHUNKS = 5  # as `rag ask`: the sentences of the top k passages


def _kinds(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out[str(row["id"])] = row.get("kind") or ""
    return out


def _gold_sentences(rag: Rag, item) -> set[int]:
    """Sentences that overlap half of a gold span or are half covered by one."""
    found = set()
    layer = rag.index.layer
    for places in item.gold:
        for g in places:
            for i in layer.by_doc.get(g.doc_id, ()):
                s = layer.sentences[i]
                shared = max(0, min(s.end, g.end) - max(s.start, g.start)) if s.doc_id == g.doc_id else 0
                if shared and (shared >= 0.5 * (g.end - g.start) or shared >= 0.5 * (s.end - s.start)):
                    found.add(s.sentence_id)
    return found


def _questions(rag: Rag, scorer: SentenceScorer, root: Path, sets: tuple[str, ...]) -> list[dict]:
    """Each question of ``sets`` with its evidence: the sentences a question
    scores when asked (its candidates, the sentences of its top passages),
    plus its gold sentences, so fitting sees what answering sees."""
    rows = []
    layer = rag.index.layer
    for name in sets:
        path = root / name
        kinds = _kinds(path)
        for item in load_qa(path, rag.index.documents):
            form = rag.form(item.question)
            gold = _gold_sentences(rag, item)
            scores = scorer.scores(item.question, form, extra=gold)
            top = np.argsort(-scores.chunk, kind="stable")[: CANDIDATE_CHUNKS * 4]
            scorer.ensure(scores.evidence, [i for c in top.tolist() for i in layer.by_chunk.get(c, ())])
            rows.append(
                {
                    "set": name,
                    "id": item.qid,
                    "kind": kinds.get(item.qid, ""),
                    "question": item.question,
                    "form": form,
                    "evidence": scores.evidence,
                    "gold": gold,
                    "answerable": item.answerable,
                    "rag": rag,
                    "scorer": scorer,
                }
            )
    return rows


def _matrix(evidence, names: tuple[str, ...] = EVIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """The z-scored evidence of the sentences a question computed, and their ids."""
    ids = evidence.ids
    return np.stack([evidence.z(f)[ids] for f in names], axis=1), ids


def fit_weights(rows: list[dict], l2: float = 0.01, steps: int = 300, names: tuple[str, ...] = EVIDENCE) -> np.ndarray:
    """Softmax over each question's sentences, target uniform over its gold sentences (Adam)."""
    data = []
    for r in rows:
        x, ids = _matrix(r["evidence"], names)
        data.append((x, np.array([int(i) in r["gold"] for i in ids], dtype=np.float64)))
    data = [(x, t / t.sum()) for x, t in data if t.sum() > 0]
    w = np.array([DEFAULT_WEIGHTS[f] for f in names], dtype=np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step in range(1, steps + 1):
        grad = l2 * w
        for x, t in data:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += x.T @ (p - t) / len(data)
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad * grad
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w / np.abs(w).max()


def _lookup_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["answerable"] and not r["form"].broad and not r["form"].part and r["gold"]]


def _top_chunk_hit(row: dict, weights: dict) -> bool:
    rag, scorer = row["rag"], row["scorer"]
    old = scorer.weights
    scorer.weights = {**old, **weights}
    try:
        scores = scorer.combine(row["evidence"], row["form"])
    finally:
        scorer.weights = old
    best_chunk = int(np.argmax(scores.chunk))
    return any(rag.index.sentences.sentences[i].chunk_id == best_chunk for i in row["gold"])


def _cross_validated(rows: list[dict], names: tuple[str, ...], hit, reference: dict) -> tuple[int, int]:
    """5-fold by question: (hits of weights fitted on the other folds, hits of ``reference``)."""
    order = list(range(len(rows)))
    random.Random(SEED).shuffle(order)
    fitted = kept = 0
    for k in range(FOLDS):
        fold = order[k::FOLDS]
        train = [rows[i] for i in order if i not in fold]
        w = dict(zip(names, fit_weights(train, names=names)))
        for i in fold:
            fitted += hit(rows[i], w)
            kept += hit(rows[i], reference)
    return fitted, kept


def choose_weights(rows: list[dict], report: list[str]) -> dict:
    rows = _lookup_rows(rows)
    fitted_hits, default_hits = _cross_validated(
        rows, EVIDENCE, _top_chunk_hit, {f: DEFAULT_WEIGHTS[f] for f in EVIDENCE}
    )
    n = len(rows)
    report.append(
        f"- sentence weights, 5-fold CV by question on {n} lookup questions: top passage right "
        f"{default_hits}/{n} with the default weights, {fitted_hits}/{n} with fitted ones"
    )
    if fitted_hits > default_hits:
        w = dict(zip(EVIDENCE, (round(float(x), 3) for x in fit_weights(rows))))
        report.append(f"- fitted weights kept: {w}")
        return w
    report.append("- default weights kept")
    return {f: DEFAULT_WEIGHTS[f] for f in EVIDENCE}


def _top_sentence_hit(row: dict, weights: dict) -> bool:
    """Whether the best quotable sentence (header lines aside) by ``weights`` over QUOTE_EVIDENCE is a gold one."""
    x, ids = _matrix(row["evidence"], QUOTE_EVIDENCE)
    score = x @ np.array([weights[f] for f in QUOTE_EVIDENCE])
    layer = row["rag"].index.sentences
    score[np.isin(ids, row["scorer"].header) | ~layer.quotable[ids]] = -np.inf
    return int(ids[int(np.argmax(score))]) in row["gold"]


def choose_quote_weights(rows: list[dict], report: list[str]) -> dict:
    """Weights over QUOTE_EVIDENCE that choose quotations: fitted, if
    cross-validation beats the default weights at putting a gold sentence first."""
    rows = _lookup_rows(rows)
    defaults = {f: DEFAULT_WEIGHTS[f] for f in QUOTE_EVIDENCE}
    fitted_hits, default_hits = _cross_validated(rows, QUOTE_EVIDENCE, _top_sentence_hit, defaults)
    n = len(rows)
    report.append(
        f"- quotation weights, 5-fold CV on the same questions: top sentence right {default_hits}/{n} "
        f"with the default weights, {fitted_hits}/{n} with fitted ones"
    )
    if fitted_hits > default_hits:
        w = dict(zip(QUOTE_EVIDENCE, (round(float(x), 3) for x in fit_weights(rows, names=QUOTE_EVIDENCE))))
        report.append(f"- fitted quotation weights kept: {w}")
        return w
    report.append("- default weights kept for quotations")
    return defaults


def _candidates(rag: Rag, scores, exclude: set[int]) -> list[int]:
    """The sentences of the top passages, as `rag ask` sees them, with ``exclude`` gone from the corpus."""
    layer = rag.index.layer
    ids = scores.evidence.ids
    keep = ids[~np.isin(ids, list(exclude))] if exclude else ids
    chunk = np.full(len(rag.index.chunks), -np.inf)
    np.maximum.at(chunk, np.array([layer.sentences[i].chunk_id for i in keep], dtype=np.int64), scores.score[keep])
    top = set(np.argsort(-chunk, kind="stable")[:CANDIDATE_CHUNKS].tolist())
    return [i for c in sorted(top) for i in layer.by_chunk.get(c, ()) if i not in exclude]


def answerability_examples(rows: list[dict], weights: dict) -> list[tuple]:
    """(features, label, group, kind): answerable, out of scope, and answer removed."""
    terms_of: dict[int, CorpusTerms] = {}
    examples = []
    for g, r in enumerate(rows):
        rag, scorer = r["rag"], r["scorer"]
        if id(rag) not in terms_of:
            terms_of[id(rag)] = CorpusTerms(rag.index.sentences, rag.index.documents)
            scorer.weights = {**scorer.weights, **weights}
        terms, header = terms_of[id(rag)], set(scorer.header.tolist())
        form = r["form"]
        if form.broad or form.part or form.each:
            continue  # broad and part questions are always answered; every-document ones are judged per document
        scores = scorer.combine(r["evidence"], form)
        base = set(header)
        if r["answerable"]:
            if not r["gold"]:
                continue
            examples.append((features(form, scores, terms, _candidates(rag, scores, base)), 1, g, "answerable"))
            layer = rag.index.layer
            removed: set[int] = set()
            for i in r["gold"]:
                removed.update(
                    j
                    for j in (i - 1, i, i + 1)
                    if 0 <= j < layer.n and layer.sentences[j].doc_id == layer.sentences[i].doc_id
                )
            gone = frozenset(removed)
            x = features(form, scores, terms, _candidates(rag, scores, base | removed), exclude=gone)
            examples.append((x, 0, g, "removed"))
        else:
            examples.append((features(form, scores, terms, _candidates(rag, scores, base)), 0, g, "out of scope"))
    return examples


def calibrate(
    embedder: TokenEmbedder,
    ship: bool = False,
    max_false_abstain: float = 0.03,
    root: Path | None = None,
    progress: bool = False,
    max_caution: float = MAX_CAUTION,
    keep_weights: bool = False,
) -> tuple[Path, list[str]]:
    """Fit and write the tuning for ``embedder``'s model; returns (file, report lines).
    ``keep_weights``: keep the shipped evidence weights, fit only the answerability model.
    ``ship`` writes rag/tuning/ (and the report under eval/reports/current/),
    otherwise the cache, where rag.settings.tuning_for finds it."""
    root = root or project_root()
    missing = [name for folder, sets in DEV_CORPORA for name in (folder, *sets) if not (root / name).exists()]
    if missing:
        raise EvalDataError(
            f"calibrating needs the project's eval sets and corpus, missing here: {', '.join(missing)} "
            f"(run from a checkout of rag)"
        )
    # The development corpora's indexes are kept in eval/cache/ (git-ignored): a
    # second calibration embeds only what changed.
    cache = root / "eval" / "cache" / "calibrate" / tuning_file_name(embedder.name).rsplit(".", 1)[0]
    rows = []
    for k, (folder, sets) in enumerate(DEV_CORPORA):
        index, _ = build_index(load_corpus(root / folder), cache / f"index-{k}", embedder, progress=progress)
        scorer = SentenceScorer(index, embedder, tuning=None)
        scorer.weights = dict(DEFAULT_WEIGHTS)
        rag = Rag(index, embedder, scorer=scorer)
        rows += _questions(rag, scorer, root, sets)
    command = "rag calibrate" + (" --ship" if ship else "")
    names = [n for _, sets in DEV_CORPORA for n in sets]
    report = [
        f"# Tuning for {embedder.name}",
        "",
        f"Fitted by `{command}` on " + ", ".join(names) + f" ({len(rows)} questions, {len(DEV_CORPORA)} corpora).",
        "",
    ]
    shipped = tuning_for(embedder.name) if keep_weights else None
    if shipped is not None:
        # The evidence weights as shipped (the report that fitted them says on
        # what); only the answerability model is fitted here, over every kind.
        weights = {f: float(shipped.weights.get(f, DEFAULT_WEIGHTS[f])) for f in EVIDENCE}
        quotes = shipped.quote_weights or shipped.weights
        quote_weights = {f: float(quotes.get(f, DEFAULT_WEIGHTS[f])) for f in QUOTE_EVIDENCE}
        report.append(f"- evidence weights kept as shipped ({shipped.source}): {weights}")
        report.append(f"- quotation weights kept as shipped: {quote_weights}")
    else:
        weights = choose_weights(rows, report)
        quote_weights = choose_quote_weights(rows, report)
    model = choose_answerability(answerability_examples(rows, weights), max_false_abstain, report, max_caution)
    data = {
        "model": embedder.name,
        "fitted_by": command,
        "weights": weights,
        "quote_weights": quote_weights,
        "answerability": {
            "features": list(model.features),
            "coef": list(model.coef),
            "intercept": model.intercept,
            "mean": list(model.mean),
            "scale": list(model.scale),
            "threshold": model.threshold,
            "dense_floor": model.dense_floor,
            "sure": model.sure,
        },
    }
    from rag.settings import Tuning

    Tuning.from_json(data)  # the file must read back
    target = TUNING_DIR if ship else cache_root() / "tuning"
    target.mkdir(parents=True, exist_ok=True)
    out = target / tuning_file_name(embedder.name)
    tmp_file = out.with_suffix(".tmp")
    tmp_file.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp_file.replace(out)
    if ship:
        reports = root / "eval" / "reports" / "current"
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"tuning-{out.stem}.md").write_text("\n".join(report) + "\n", encoding="utf-8")

    tuning_for.cache_clear()
    return out, report
