"""The measures that choose thresholds and compare models: no model, no torch."""

from __future__ import annotations

import numpy as np


def best_threshold(scores: np.ndarray, positive: np.ndarray, objective) -> tuple[float, float]:
    """The threshold in 0.01 steps that maximises `objective(predicted, positive)`, where
    `predicted` is `scores >= threshold`; the lowest such threshold, and its value."""
    best = (0.5, -1.0)
    for threshold in np.arange(0.01, 1.0, 0.01):
        value = objective(scores >= threshold, positive)
        if value > best[1]:
            best = (round(float(threshold), 2), float(value))
    return best


def balanced_accuracy(predicted: np.ndarray, positive: np.ndarray) -> float:
    return 0.5 * (predicted[positive].mean() + (~predicted[~positive]).mean())


def f1(predicted: np.ndarray, positive: np.ndarray) -> float:
    tp = float((predicted & positive).sum())
    return 2 * tp / (predicted.sum() + positive.sum()) if tp else 0.0


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    pos, neg = scores[positive], scores[~positive]
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
