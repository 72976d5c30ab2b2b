"""Train the reader (rag.answer.reader) and compare it with the logistic answerability model.

    .venv/bin/python eval/reader/examples.py     # first: the examples (eval/cache/reader/examples/)
    .venv/bin/python eval/reader/train.py table  # cross-validated comparison -> eval/reader/RESULTS.md
    (table also fits the reader on all FAQs and development sets -> rag/tuning/reader-all-mpnet-base-v2.*)

Seeded (torch and numpy), one torch thread: the same numbers on any 2-core run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.answer.reader import (  # noqa: E402
    MATCH_FEATURES,
    TERM_FEATURES,
    ReaderInput,
    content_terms,
    prepare,
    term_features,
    weights_file,
    windows_for,
)
from rag.evaluation.fit import FOLDS, MAX_CAUTION, kind_weights  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import fmt, folds_of, logistic_cv, logistic_fit, row, sig, threshold_at  # noqa: E402

CACHE = ROOT / "eval" / "cache" / "reader"
DEV = ("essays_qa", "check_qa", "dev_qa", "dev2_qa")  # rag's development sets, in rag calibrate's order
DEV_FILES = {
    "essays_qa": "eval/essays_qa.jsonl",
    "check_qa": "eval/check_qa.jsonl",
    "dev_qa": "eval/dev_qa.jsonl",
    "dev2_qa": "eval/dev2_qa.jsonl",
}
HELD_OUT = ("holdout_qa", "other_qa")
FAQS = ("python", "debian", "git", "curl", "irssi", "zsh", "nano", "ffmpeg")
BASIS = 32  # dimensions of the interaction basis
HIDDEN = 16
EPOCHS = 30
BATCH = 32
EVERY_WORD = os.environ.get("READER_EVERY_WORD", "1") == "1"  # read "when", "who", "how" too
PARTIAL_WEIGHT = 0.5  # the answer passage less its best two sentences: a noisier negative


@dataclass
class Example:
    set: str
    key: str
    kind: str
    label: int
    group: int
    features: dict
    inp: ReaderInput | None = None


def load_rows() -> list[dict]:
    rows = []
    for name in [f"faq-{s}" for s in FAQS] + list(DEV) + list(HELD_OUT):
        path = CACHE / "examples" / f"{name}.jsonl"
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def dev_groups() -> dict[tuple[str, str], int]:
    """(set, id) -> the question's number in rag calibrate's order, for the same folds."""
    out, g = {}, 0
    for name in DEV:
        for line in (ROOT / DEV_FILES[name]).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out[(name, str(json.loads(line)["id"]))] = g
                g += 1
    return out


def build_examples(basis: np.ndarray | None = None) -> tuple[list[Example], np.ndarray]:
    from rag.embed.auto import default_embedder
    from rag.index.load import load_index

    embedder = default_embedder()
    special = embedder.special_ids
    rows = load_rows()
    layers = {name: load_index(CACHE / "index" / name).sentences for name in {r["index"] for r in rows}}
    if basis is None:
        basis = fit_basis([layers[f"faq-{s}"] for s in FAQS])
    arrays = {}
    for name, layer in layers.items():
        full = layer.tokens.astype(np.float32)
        arrays[name] = (full, full @ basis)
    tokens = {}
    for name in {r["set"] for r in rows}:
        with np.load(CACHE / "examples" / f"{name}.npz") as z:
            tokens.update({k.replace("|", "/"): z[k] for k in z.files})
    groups = dev_groups()
    out = []
    for _k, r in enumerate(rows):
        layer = layers[r["index"]]
        ids, toks = tokens[r["key"] + "/ids"], tokens[r["key"] + "/tokens"]
        pieces = embedder.token_strings(ids)
        keep = content_terms(ids, pieces, special, EVERY_WORD)
        term = term_features(ids, pieces, keep, layer.df, layer.n)
        sentence_ids, windows = windows_for(layer, r["candidates"], frozenset(r["exclude"]))
        off = layer.token_offsets
        spans = [(int(off[i]), int(off[i + 1])) for i in sentence_ids]
        full, projected = arrays[r["index"]]
        inp = prepare(ids, toks, keep, term, layer.token_ids, full, projected, spans, windows, basis)
        group = hash_group(r["key"]) if r["set"].startswith("faq") else groups.get((r["set"], r["qid"]), -1)
        out.append(Example(r["set"], r["key"], r["kind"], int(r["kind"] == "answerable"), group, r["features"], inp))
    return out, basis


def hash_group(key: str) -> int:
    return 1_000_000 + int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def fit_basis(layers) -> np.ndarray:
    """The top BASIS principal axes of the FAQs' contextual word-piece vectors (a fixed sample)."""
    sample = np.concatenate([layer.tokens for layer in layers]).astype(np.float32)
    rng = np.random.default_rng(0)
    sample = sample[rng.choice(len(sample), size=min(30_000, len(sample)), replace=False)]
    sample -= sample.mean(axis=0)
    values, vectors = np.linalg.eigh(sample.T.astype(np.float64) @ sample)
    axes = vectors[:, np.argsort(-values)[:BASIS]]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(BASIS)])  # one sign for each axis, always
    return np.ascontiguousarray(axes.astype(np.float32))


# ------------------------------------------------------------------ the model in torch (training)
def torch_model(k: int):
    import torch
    from torch import nn

    class TorchReader(nn.Module):
        def __init__(self):
            super().__init__()
            self.match_in = nn.Linear(MATCH_FEATURES + k, HIDDEN)
            self.match_out = nn.Linear(HIDDEN, 1)
            self.term = nn.Linear(TERM_FEATURES + k, 1)
            self.tau = nn.Parameter(torch.zeros(1))
            self.head = nn.Parameter(torch.tensor([0.0, 1.0, 1.0]))

        def forward(self, b):
            inter = b["qproj"][:, :, None, :] * b["pproj"]
            h = torch.relu(self.match_in(torch.cat([b["match"], inter], dim=3)))
            met = self.match_out(h)[..., 0]  # [B, m, S]
            bsz, m, _s = met.shape
            met = torch.cat([met, torch.full((bsz, m, 1), -1e4)], dim=2)
            w = b["windows"].shape[1]
            idx = b["windows"].reshape(bsz, 1, w * 3).expand(bsz, m, w * 3)
            window = torch.gather(met, 2, idx).reshape(bsz, m, w, 3).max(dim=3).values  # [B, m, W]
            imp = nn.functional.softplus(self.term(torch.cat([b["term"], b["qproj"]], dim=2)))[..., 0] * b["tmask"]
            share = imp / imp.sum(dim=1, keepdim=True).clamp_min(1e-9)
            mean = (share[:, :, None] * window).sum(dim=1)
            low = torch.where(b["tmask"][:, :, None] > 0, window, torch.full_like(window, 1e4)).min(dim=1).values
            tau = nn.functional.softplus(self.tau) + 0.05
            soft = (
                -tau
                * torch.log(
                    (share[:, :, None] * torch.exp(-(window - low[:, None, :]) / tau)).sum(dim=1).clamp_min(1e-30)
                )
                + low
            )
            score = self.head[0] + self.head[1] * mean + self.head[2] * soft
            score = torch.where(b["wmask"] > 0, score, torch.full_like(score, -1e4))
            return score.max(dim=1).values

        def weights(self, basis) -> dict[str, np.ndarray]:
            def a(t):
                return t.detach().numpy().astype(np.float32)

            return {
                "basis": basis,
                "match_in": a(self.match_in.weight.T),
                "match_in_bias": a(self.match_in.bias),
                "match_out": a(self.match_out.weight.T)[:, 0],
                "match_out_bias": a(self.match_out.bias),
                "term": a(self.term.weight.T),
                "term_bias": a(self.term.bias),
                "tau": a(self.tau),
                "head": a(self.head),
            }

    return TorchReader()


def collate(items: list[ReaderInput]):
    import torch

    k = items[0].qproj.shape[1]
    m = max(max(i.match.shape[0] for i in items), 1)
    s = max(max(i.match.shape[1] for i in items), 1)
    w = max(max(len(i.windows) for i in items), 1)
    n = len(items)
    b = {
        "match": np.zeros((n, m, s, MATCH_FEATURES), np.float32),
        "pproj": np.zeros((n, m, s, k), np.float32),
        "qproj": np.zeros((n, m, k), np.float32),
        "term": np.zeros((n, m, TERM_FEATURES), np.float32),
        "tmask": np.zeros((n, m), np.float32),
        "windows": np.full((n, w, 3), s, np.int64),
        "wmask": np.zeros((n, w), np.float32),
    }
    for j, it in enumerate(items):
        mi, si, wi = it.match.shape[0], it.match.shape[1], len(it.windows)
        b["match"][j, :mi, :si] = it.match
        b["pproj"][j, :mi, :si] = it.pproj
        b["qproj"][j, :mi] = it.qproj
        b["term"][j, :mi] = it.term
        b["tmask"][j, :mi] = 1
        if mi == 0:  # no term: nothing can be met
            b["tmask"][j, 0] = 1
            b["match"][j, 0, :, 0] = -1
        b["windows"][j, :wi] = np.where(it.windows < 0, s, it.windows)
        b["wmask"][j, :wi] = 1
    return {key: torch.from_numpy(v) for key, v in b.items()}


def example_weights(examples: list[Example]) -> np.ndarray:
    """Per question set: out-of-scope questions weigh, together, as much as the
    answer-removed ones (rag.evaluation.fit.kind_weights); partial negatives less."""
    w = np.ones(len(examples))
    kinds = np.array([e.kind for e in examples])
    sets = np.array([e.set for e in examples])
    for name in set(sets.tolist()):
        mask = sets == name
        w[mask] = kind_weights(kinds[mask])
    w[kinds == "partial"] *= PARTIAL_WEIGHT
    return w


def train(examples: list[Example], basis: np.ndarray, seed: int = 0, epochs: int = EPOCHS) -> dict[str, np.ndarray]:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = torch_model(basis.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
    y = np.array([e.label for e in examples], np.float32)
    sw = example_weights(examples)
    # positives weigh as much, together, as all negatives
    sw[y == 1] *= sw[y == 0].sum() / max(sw[y == 1].sum(), 1e-9)
    sw /= sw.mean()
    order = np.argsort([e.inp.match.shape[1] for e in examples], kind="stable")  # similar sizes share a batch
    batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    cached = [collate([examples[i].inp for i in b]) for b in batches]
    for _ in range(epochs):
        for j in rng.permutation(len(batches)):
            b = batches[j]
            logit = model(cached[j])
            loss = (
                torch.nn.functional.binary_cross_entropy_with_logits(logit, torch.from_numpy(y[b]), reduction="none")
                * torch.from_numpy(sw[b].astype(np.float32))
            ).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.weights(basis)


def score(weights: dict[str, np.ndarray], examples: list[Example]) -> np.ndarray:
    from rag.answer.reader import Reader

    reader = Reader(weights)
    return np.array([max(reader.logit(e.inp), -30.0) for e in examples])


# ------------------------------------------------------------------ comparison
def table() -> None:
    import time

    t0 = time.time()
    examples, basis = build_examples()
    dev = [e for e in examples if e.set in DEV and e.group >= 0]
    faq = [e for e in examples if e.set.startswith("faq")]
    held = {name: [e for e in examples if e.set == name] for name in HELD_OUT}
    counts = {k: sum(e.kind == k for e in dev) for k in ("answerable", "out of scope", "removed")}
    print(f"examples ready in {time.time() - t0:.0f} s: FAQ {len(faq)}, dev {counts}", flush=True)
    w0 = train(faq, basis)
    r0 = score(w0, dev)
    folds = folds_of(dev)
    r1 = np.zeros(len(dev))
    for f in range(FOLDS):
        wf = train(faq + [e for e, k in zip(dev, folds) if k != f], basis, seed=f)
        idx = np.where(folds == f)[0]
        r1[idx] = score(wf, [dev[i] for i in idx])
        print(f"fold {f} done at {time.time() - t0:.0f} s", flush=True)
    r2 = np.zeros(len(dev))  # without the FAQs: do they help?
    for f in range(FOLDS):
        wf = train([e for e, k in zip(dev, folds) if k != f], basis, seed=f)
        idx = np.where(folds == f)[0]
        r2[idx] = score(wf, [dev[i] for i in idx])
    lg = logistic_cv(dev)
    comb = logistic_cv(dev, r0)
    cv_rows = [
        row("logistic model (today's features)", dev, lg),
        row("reader, trained on FAQs only", dev, sig(r0)),
        row("reader, FAQs + development folds", dev, sig(r1)),
        row("reader, development folds only (no FAQ)", dev, sig(r2)),
        row("logistic + reader logit (FAQ-only reader)", dev, comb),
        row(
            "logistic + reader logit (stacked: out-of-fold logits of the FAQs + folds reader)",
            dev,
            logistic_cv(dev, r1),
        ),
    ]
    if os.environ.get("READER_CV_ONLY"):
        print("\n".join(fmt(cv_rows, "cross-validation only")))
        return
    lines = [
        "# Reader against the logistic answerability model",
        "",
        f"`.venv/bin/python eval/reader/train.py table` (all-mpnet-base-v2; {len(faq)} FAQ examples, "
        f"development sets {counts}).",
        "",
    ]
    lines += fmt(cv_rows, "Development sets, 5-fold cross-validation by question (rag calibrate's folds)")
    # Held-out sets: models fitted on everything allowed, thresholds from the cross-validation above.
    w_all = train(faq + dev, basis)
    positives = np.sort(sig(r1)[np.array([e.label for e in dev]) == 1])
    save(
        w_all,
        len(faq) + len(dev),
        threshold_at(positives, 0.03),
        max(threshold_at(positives, 0.03), threshold_at(positives, MAX_CAUTION)),
    )
    log_all, comb_all = logistic_fit(dev), logistic_fit(dev, r0)
    for name, ex in held.items():
        rr = [
            row("logistic model", ex, log_all(ex), (lg, dev)),
            row("reader (FAQs + all development sets)", ex, sig(score(w_all, ex)), (sig(r1), dev)),
            row("logistic + reader logit", ex, comb_all(ex, score(w0, ex)), (comb, dev)),
        ]
        lines += fmt(rr, f"{name}: fitted on the development sets, thresholds from their cross-validation")
    # FAQs held out by source: the reader trained on the other FAQs and the development sets.
    loso = []
    for s in FAQS:
        test = [e for e in faq if e.set == f"faq-{s}"]
        ws = train([e for e in faq if e.set != f"faq-{s}"] + dev, basis)
        loso.append(row(f"{s}: logistic", test, log_all(test)))
        loso.append(row(f"{s}: reader", test, sig(score(ws, test))))
        print(f"held-out FAQ {s} done at {time.time() - t0:.0f} s", flush=True)
    lines += fmt(
        loso,
        "FAQs held out by source (negatives: answer removed; thresholds on each FAQ's own answerable "
        "questions, the same rule for both models)",
    )
    (ROOT / "eval" / "reader" / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def save(weights: dict[str, np.ndarray], examples: int, threshold: float, sure: float) -> None:
    """The weights (safetensors) and, beside them, how they were made, the thresholds and the sha256."""
    from safetensors.numpy import save_file

    path = weights_file("all-mpnet-base-v2")
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in sorted(weights.items())}, str(path))
    meta = {
        "model": "all-mpnet-base-v2",
        "trained_by": "eval/reader/train.py table",
        "examples": examples,
        "epochs": EPOCHS,
        "basis": BASIS,
        "hidden": HIDDEN,
        "every_word": EVERY_WORD,
        "threshold": round(threshold, 6),
        "sure": round(sure, 6),
        "thresholds_from": "5-fold cross-validation on the development sets (FAQs + folds reader): "
        "at most 3 % false abstentions; sure: 15 % of answerable questions below it",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)", flush=True)


if __name__ == "__main__":
    {"table": table}[sys.argv[1]]()
