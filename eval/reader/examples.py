"""Answerability examples, as rag sees them, from the FAQ pairs and rag's question sets.

    .venv/bin/python eval/reader/examples.py        # writes eval/cache/reader/examples/

For every question, on the index it is asked of, exactly as `rag calibrate`
builds its answerability examples (rag.evaluation.fit.answerability_examples):
- answerable: the candidates are the sentences of the top 5 passages;
- removed: the same question with its answer (its gold sentences and their
  neighbours) taken out of the corpus: the candidates are then the best
  other passages, on the same topic: near misses;
- out of scope: a question of the set that the corpus does not answer;
- partial (FAQ only): the answer passage kept but its two sentences that the
  question matches best taken out (the brief's "passage with its answering
  sentences removed").
Each example keeps the logistic model's features (rag.answer.abstain.FEATURES),
its candidate sentence ids and the question's word pieces and their
contextual vectors (what the reader reads). Broad, part and every-document
questions are left out, as the fit leaves them out.

An FAQ becomes a corpus of one document per FAQ section holding the answers
only (never the question headings, which would answer themselves), built
into an index with rag's own build under eval/cache/reader/index/<source>.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.answer.abstain import CorpusTerms, features  # noqa: E402
from rag.embed.auto import default_embedder  # noqa: E402
from rag.evaluation.fit import _candidates, _gold_sentences  # noqa: E402
from rag.evaluation.qa import load_qa  # noqa: E402
from rag.index.build import build_index  # noqa: E402
from rag.ingest.corpus import load_corpus  # noqa: E402
from rag.pipeline import Rag  # noqa: E402
from rag.retrieval.scoring import SentenceScorer  # noqa: E402

CACHE = ROOT / "eval" / "cache" / "reader"
PAIRS = ROOT / "eval" / "reader" / "data" / "faq_pairs.jsonl"
RAG_SETS = {  # set -> (question file, corpus folder)
    "essays_qa": ("eval/essays_qa.jsonl", "corpus"),
    "check_qa": ("eval/check_qa.jsonl", "corpus"),
    "dev_qa": ("eval/dev_qa.jsonl", "corpus"),
    "dev2_qa": ("eval/dev2_qa.jsonl", "corpus"),
    "holdout_qa": ("eval/holdout_qa.jsonl", "corpus"),
    "other_qa": ("eval/other/other_qa.jsonl", "eval/other/corpus"),
}
PARTIAL_DROP = 2  # sentences of the answer taken out for a "partial" example


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "faq"


def faq_corpora() -> dict[str, list[dict]]:
    """Write each FAQ source as a corpus folder; returns source -> pairs with their gold span."""
    rows = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict[str, list[dict]] = {}
    for source in dict.fromkeys(r["source"] for r in rows):
        folder = CACHE / "corpora" / source
        folder.mkdir(parents=True, exist_ok=True)
        sections: dict[str, list[dict]] = {}
        for r in rows:
            if r["source"] == source:
                sections.setdefault(r["section"], []).append(r)
        items = []
        for k, (section, pairs) in enumerate(sections.items()):
            doc_id = f"{k:02d}-{_slug(section)}"
            text, spans = "", []
            for p in pairs:
                start = len(text)
                text += p["answer"]
                spans.append((start, len(text)))
                text += "\n\n"
            (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
            for p, (s, e) in zip(pairs, spans):
                items.append({**p, "doc_id": doc_id, "start": s, "end": e})
        out[source] = items
    return out


def _index(name: str, corpus: Path, embedder) -> Rag:
    index, _ = build_index(load_corpus(corpus), CACHE / "index" / name, embedder)
    return Rag(index, embedder)


def _example(rag, scorer, terms, form, scores, exclude: set[int], kind: str, base: dict) -> dict:
    gone = frozenset(exclude - set(scorer.header.tolist()))
    cands = _candidates(rag, scores, exclude)
    return {
        **base,
        "kind": kind,
        "candidates": cands,
        "exclude": sorted(exclude),
        "features": features(form, scores, terms, cands, exclude=gone),
    }


def _around(layer, ids) -> set[int]:
    out = set()
    for i in ids:
        out.update(
            j for j in (i - 1, i, i + 1) if 0 <= j < layer.n and layer.sentences[j].doc_id == layer.sentences[i].doc_id
        )
    return out


def examples_for(name: str, rag: Rag, questions: list[dict], embedder) -> tuple[list[dict], dict]:
    """questions: {qid, question, gold (sentence ids; empty: out of scope), partial (bool)}."""
    scorer = SentenceScorer(rag.index, embedder)
    rag.retriever("fusion").scorer = scorer
    terms = CorpusTerms(rag.index.sentences, rag.index.documents)
    layer = rag.index.sentences
    header = set(scorer.header.tolist())
    rows, tokens = [], {}
    for q in questions:
        form = rag.form(q["question"])
        if form.broad or form.part or form.each:
            continue
        ids, toks, _ = embedder.embed_tokens([q["question"]])[0]
        key = f"{name}/{q['qid']}"
        tokens[key + "/ids"], tokens[key + "/tokens"] = np.asarray(ids, np.int32), np.asarray(toks, np.float16)
        scores = scorer.combine(scorer.evidence(q["question"]), form)
        base = {
            "index": name,
            "set": q["set"],
            "qid": q["qid"],
            "key": key,
            "question": q["question"],
            "gold": sorted(q["gold"]),
        }
        if not q["gold"]:
            rows.append(_example(rag, scorer, terms, form, scores, set(header), "out of scope", base))
            continue
        rows.append(_example(rag, scorer, terms, form, scores, set(header), "answerable", base))
        rows.append(_example(rag, scorer, terms, form, scores, header | _around(layer, q["gold"]), "removed", base))
        if q.get("partial") and len(q["gold"]) > PARTIAL_DROP + 1:
            best = sorted(q["gold"], key=lambda i: -float(scores.score[i]))[:PARTIAL_DROP]
            rows.append(_example(rag, scorer, terms, form, scores, header | set(best), "partial", base))
    return rows, tokens


def main() -> None:
    embedder = default_embedder()
    out = CACHE / "examples"
    out.mkdir(parents=True, exist_ok=True)
    for source, items in faq_corpora().items():
        if (out / f"faq-{source}.jsonl").exists():
            continue
        rag = _index(f"faq-{source}", CACHE / "corpora" / source, embedder)
        layer = rag.index.sentences
        questions = []
        for it in items:
            gold = {
                s.sentence_id
                for s in layer.sentences
                if s.doc_id == it["doc_id"] and s.start < it["end"] and s.end > it["start"]
            }
            questions.append(
                {"set": f"faq-{source}", "qid": it["id"], "question": it["question"], "gold": gold, "partial": True}
            )
        rows, tokens = examples_for(f"faq-{source}", rag, questions, embedder)
        _save(out, f"faq-{source}", rows, tokens)
    by_corpus: dict[str, list[str]] = {}
    for name, (_path, corpus) in RAG_SETS.items():
        by_corpus.setdefault(corpus, []).append(name)
    for corpus, names in by_corpus.items():
        rag = _index(_slug(corpus), ROOT / corpus, embedder)
        for name in names:
            if (out / f"{name}.jsonl").exists():
                continue
            questions = [
                {
                    "set": name,
                    "qid": item.qid,
                    "question": item.question,
                    "gold": _gold_sentences(rag, item) if item.answerable else set(),
                }
                for item in load_qa(ROOT / RAG_SETS[name][0], rag.index.documents)
            ]
            # An answerable question whose gold spans match no sentence is skipped, as the fit skips it.
            questions = [q for q in questions if q["gold"] or not _answerable(ROOT / RAG_SETS[name][0], q["qid"])]
            rows, tokens = examples_for(_slug(corpus), rag, questions, embedder)
            _save(out, name, rows, tokens)


def _answerable(path: Path, qid: str) -> bool:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if str(row["id"]) == qid:
                return bool(row["answers"])
    return False


def _save(out: Path, name: str, rows: list[dict], tokens: dict) -> None:
    np.savez(out / f"{name}.npz", **{k.replace("/", "|"): v for k, v in tokens.items()})
    (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kinds = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{name}: {kinds}", flush=True)


if __name__ == "__main__":
    main()
