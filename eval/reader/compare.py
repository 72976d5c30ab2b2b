"""The comparison behind eval/reader/RESULTS.md: the reader against the logistic
model at the same false-abstention rates (split from train.py, which trains)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.answer.abstain import DIRECTION, FEATURES  # noqa: E402
from rag.evaluation.fit import FOLDS, SEED, fit_logistic, kind_weights  # noqa: E402

Example = object  # train.Example; annotations only (train imports this module)


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    both = np.concatenate([pos, neg])
    ranks = np.argsort(np.argsort(both, kind="stable"), kind="stable") + 1.0
    for v in np.unique(both):  # ties share their mean rank
        tie = both == v
        ranks[tie] = ranks[tie].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_at(pos: np.ndarray, fa: float) -> float:
    """rag calibrate's rule: the largest threshold whose false abstentions stay at or below ``fa``."""
    p = np.sort(pos)
    return float(p[int(np.floor(fa * len(p)))]) - 1e-9


def signed_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, names: list[str]) -> tuple[np.ndarray, float]:
    """rag.evaluation.fit.fit_signed over ``names`` (the reader's logit points towards an answer)."""
    direction = {**DIRECTION, "reader": 1}
    active = np.ones(x.shape[1], dtype=bool)
    while True:
        fitted, intercept = fit_logistic(x[:, active], y, weight=weight)
        coef = np.zeros(x.shape[1])
        coef[active] = fitted
        against = [i for i, f in enumerate(names) if coef[i] * direction.get(f, 0) < 0]
        if not against:
            return coef, intercept
        active[max(against, key=lambda i: abs(coef[i]))] = False


def folds_of(examples: list[Example]) -> np.ndarray:
    """rag calibrate's folds: its question numbers, shuffled with its seed, dealt round."""
    unique = sorted({e.group for e in examples})
    random.Random(SEED).shuffle(unique)
    fold = {g: i % FOLDS for i, g in enumerate(unique)}
    return np.array([fold[e.group] for e in examples])


def matrix(examples: list[Example], reader: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    names = list(FEATURES) + (["reader"] if reader is not None else [])
    x = np.array([[e.features[f] for f in FEATURES] for e in examples], np.float64)
    if reader is not None:
        x = np.hstack([x, np.clip(reader, -15, 15)[:, None]])
    return x, names


def logistic_cv(dev: list[Example], reader: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold probabilities of the logistic model (with the reader's logit as one more feature)."""
    x, names = matrix(dev, reader)
    y = np.array([e.label for e in dev], np.float64)
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    xs = (x - mean) / scale
    folds = folds_of(dev)
    weight = kind_weights(np.array([e.kind for e in dev]))
    held = np.zeros(len(y))
    for f in range(FOLDS):
        coef, b = signed_fit(xs[folds != f], y[folds != f], weight[folds != f], names)
        held[folds == f] = 1 / (1 + np.exp(-(xs[folds == f] @ coef + b)))
    return held


def logistic_fit(dev: list[Example], reader: np.ndarray | None = None):
    x, names = matrix(dev, reader)
    y = np.array([e.label for e in dev], np.float64)
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    coef, b = signed_fit((x - mean) / scale, y, kind_weights(np.array([e.kind for e in dev])), names)

    def predict(examples, reader_logits=None):
        z, _ = matrix(examples, reader_logits)
        return 1 / (1 + np.exp(-(((z - mean) / scale) @ coef + b)))

    return predict


def row(name: str, examples: list[Example], p: np.ndarray, threshold_from: tuple | None = None) -> dict:
    """AUCs, and refusals at thresholds for at most 3 % and 5 % false abstentions
    (from ``p``'s own answerable examples, or from ``threshold_from`` = (p, examples))."""
    kinds = np.array([e.kind for e in examples])
    pos = p[kinds == "answerable"]
    ref_p, ref_k = (
        (p, kinds) if threshold_from is None else (threshold_from[0], np.array([e.kind for e in threshold_from[1]]))
    )
    out = {"model": name, "answerable": int((kinds == "answerable").sum())}
    for kind in ("out of scope", "removed"):
        out[f"auc {kind}"] = auc(pos, p[kinds == kind])
        out[f"n {kind}"] = int((kinds == kind).sum())
    for fa in (0.03, 0.05):
        t = threshold_at(ref_p[ref_k == "answerable"], fa)
        out[f"false abstain @{fa}"] = float(np.mean(pos < t)) if len(pos) else float("nan")
        for kind in ("out of scope", "removed"):
            neg = p[kinds == kind]
            out[f"refused {kind} @{fa}"] = float(np.mean(neg < t)) if len(neg) else float("nan")
    return out


def sig(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def fmt(rows: list[dict], title: str) -> list[str]:
    out = [
        f"### {title}",
        "",
        "| model | AUC vs out of scope | AUC vs removed | false abst. ≤3 % | OOS refused | removed refused "
        "| false abst. ≤5 % | OOS refused | removed refused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def f(k, r=r):
            v = r.get(k, float("nan"))
            return "—" if v != v else f"{v:.3f}"

        out.append(
            f"| {r['model']} | {f('auc out of scope')} | {f('auc removed')} | {f('false abstain @0.03')} "
            f"| {f('refused out of scope @0.03')} | {f('refused removed @0.03')} | {f('false abstain @0.05')} "
            f"| {f('refused out of scope @0.05')} | {f('refused removed @0.05')} |"
        )
    return out + [""]
