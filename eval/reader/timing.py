"""What the reader adds to a question's time, on the essays' index, numpy on one thread.

    .venv/bin/python eval/reader/timing.py

For the first 25 questions of each development set: the candidates as `rag ask` takes
them (the sentences of the top 5 passages), the question scored once (not
timed: rag does it anyway), then the reader's probability timed alone (best
of 3 runs per question; the first question per index also pays for
projecting the index's word pieces on the basis once, reported apart).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import numpy as np

    from rag.answer.reader import ReaderAnswerability
    from rag.embed.auto import default_embedder
    from rag.index.load import load_index
    from rag.pipeline import Rag

    embedder = default_embedder()
    rag = Rag(load_index(ROOT / "eval" / "cache" / "reader" / "index" / "corpus"), embedder)
    model = ReaderAnswerability.for_model(embedder.name)
    scorer = rag.scorer()
    questions = []
    for name in ("essays_qa", "check_qa", "dev_qa", "dev2_qa"):  # the first 25 of each
        path = ROOT / "eval" / f"{name}.jsonl"
        questions += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line][
            :25
        ]
    header = set(scorer.header.tolist())
    first = None
    times, cpus = [], []
    for q in questions:
        form = rag.form(q)
        hits = rag.retriever("fusion").search(q, 5, form=form)
        scores = scorer.scores(q, form)
        chunks = {h.chunk.chunk_id for h in hits}
        cands = [
            s.sentence_id for s in rag.index.sentences.sentences if s.chunk_id in chunks and s.sentence_id not in header
        ]
        runs, cpu = [], []
        for _ in range(3):
            t, c = time.perf_counter(), time.thread_time()
            model.probability(scorer, scores, cands)
            runs.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
        if first is None:
            first = runs[0]
        times.append(min(runs))
        cpus.append(min(cpu))
    times, cpus = np.array(times) * 1000, np.array(cpus) * 1000
    print(
        f"{len(times)} questions, reader alone: wall median {np.median(times):.2f} ms, p95 "
        f"{np.percentile(times, 95):.2f} ms, max {times.max():.2f} ms; CPU time of its thread median "
        f"{np.median(cpus):.2f} ms, p95 {np.percentile(cpus, 95):.2f} ms; load average {os.getloadavg()[0]:.1f}; "
        f"first call (projects the index once) {first * 1000:.1f} ms; "
        f"{rag.index.sentences.n} sentences, {len(rag.index.sentences.tokens)} word pieces"
    )


if __name__ == "__main__":
    main()
