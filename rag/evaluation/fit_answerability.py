"""The answerability model's fit (rag calibrate's second part): a logistic
regression over rag.answer.abstain.FEATURES, each weight kept to the sign of
its meaning, its thresholds from cross-validation (see rag.evaluation.fit)."""

from __future__ import annotations

import random

import numpy as np

from rag.answer.abstain import DIRECTION, FEATURES
from rag.settings import Answerability

FOLDS = 5
SEED = 7
# How far below the lowest answerable question's best cosine the dense floor
# sits; hand-set, not measured.
DENSE_FLOOR_MARGIN = 0.03
# The share of answerable questions (cross-validated) whose answers may carry
# a caution: about one in seven, so that a caution stays rare enough to be read.
# Hand-set, before any held-out set was read (eval/README.md, "Answers with a caution").
MAX_CAUTION = 0.15


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (features standardised by the caller),
    each example counted ``weight`` times (1 without)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0
    sw = np.ones(len(y)) if weight is None else weight
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(xb @ w)))
        grad = xb.T @ (sw * (p - y)) + penalty * w
        hess = (xb.T * (sw * p * (1 - p))) @ xb + np.diag(penalty) + 1e-9 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w[:-1], float(w[-1])


def fit_signed(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, float]:
    """fit_logistic with each feature's weight kept to the sign of its meaning
    (rag.answer.abstain.DIRECTION): the feature most against it is left out
    and the rest refitted, until none is."""
    active = np.ones(x.shape[1], dtype=bool)
    while True:
        fitted, intercept = fit_logistic(x[:, active], y, weight=weight)
        coef = np.zeros(x.shape[1])
        coef[active] = fitted
        against = [i for i, f in enumerate(FEATURES) if coef[i] * DIRECTION.get(f, 0) < 0]
        if not against:
            return coef, intercept
        active[max(against, key=lambda i: abs(coef[i]))] = False


def kind_weights(kinds: np.ndarray) -> np.ndarray:
    """Out-of-scope questions weigh as much, all together, as the answer-removed
    ones: there are few of them (a question set holds 15 % or so), yet they are
    what users ask; unweighted, the near misses alone shape the model."""
    weight = np.ones(len(kinds))
    oos, removed = kinds == "out of scope", kinds == "removed"
    if oos.any() and removed.any():
        weight[oos] = removed.sum() / oos.sum()
    return weight


def choose_answerability(
    examples: list[tuple], max_false_abstain: float, report: list[str], max_caution: float = MAX_CAUTION
) -> Answerability:
    x = np.array([[e[0][f] for f in FEATURES] for e in examples], dtype=np.float64)
    y = np.array([e[1] for e in examples], dtype=np.float64)
    groups = np.array([e[2] for e in examples])
    kinds = np.array([e[3] for e in examples])
    mean, scale = x.mean(axis=0), np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    xs = (x - mean) / scale
    unique = sorted(set(groups.tolist()))
    random.Random(SEED).shuffle(unique)
    fold_of = {g: i % FOLDS for i, g in enumerate(unique)}
    folds = np.array([fold_of[g] for g in groups])
    weight = kind_weights(kinds)
    held = np.zeros(len(y))
    for f in range(FOLDS):
        coef, intercept = fit_signed(xs[folds != f], y[folds != f], weight[folds != f])
        held[folds == f] = 1 / (1 + np.exp(-(xs[folds == f] @ coef + intercept)))
    positives = np.sort(held[y == 1])
    # The largest threshold whose cross-validated false abstentions stay within bounds.
    allowed = int(np.floor(max_false_abstain * len(positives)))
    threshold = float(positives[allowed]) - 1e-6 if len(positives) else 0.5
    # Answers under ``sure`` carry a caution: the answerable questions that
    # fall there (at most max_caution of them, abstentions included) are
    # outnumbered, on the development sets, by the near misses that do.
    cautious = min(len(positives) - 1, int(np.floor(max_caution * len(positives))))
    sure = max(threshold, float(positives[cautious]) - 1e-6) if len(positives) else threshold
    for kind in ("answerable", "out of scope", "removed"):
        mask = kinds == kind
        share = float(np.mean(held[mask] >= threshold)) if mask.any() else float("nan")
        word = "answered" if kind == "answerable" else "answered (should abstain)"
        report.append(f"- answerability, CV: {kind}: {int(mask.sum())} questions, {share:.3f} {word}")
        if mask.any():
            confident = float(np.mean(held[mask] >= sure))
            report.append(f"  - of them answered without a caution (probability ≥ {sure:.3f}): {confident:.3f}")
    coef, intercept = fit_signed(xs, y, weight)
    dense = x[:, FEATURES.index("top_dense")]
    floor = float(dense[y == 1].min()) - DENSE_FLOOR_MARGIN if (y == 1).any() else -1.0
    below = kinds[(dense < floor)]
    report.append(
        f"- dense floor {floor:.3f} (the lowest answerable question's best cosine, less "
        f"{DENSE_FLOOR_MARGIN}): below it {int((below == 'out of scope').sum())} out-of-scope and "
        f"{int((below == 'removed').sum())} answer-removed questions"
    )
    report.append(
        f"- answerability threshold {threshold:.3f}; coefficients "
        + ", ".join(f"{f} {c:+.2f}" for f, c in zip(FEATURES, coef))
    )
    return Answerability(
        FEATURES,
        tuple(round(float(c), 5) for c in coef),
        round(intercept, 5),
        tuple(round(float(m), 5) for m in mean),
        tuple(round(float(s), 5) for s in scale),
        round(threshold, 5),
        round(floor, 4),
        round(sure, 5),
    )
