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


def capped_threshold(scores: np.ndarray, positive: np.ndarray, cap: float) -> float:
    """The highest threshold in 0.01 steps that leaves out (scores below it) at most `cap` of the
    positives: a decline threshold that wrongly declines at most that share of answerable questions."""
    chosen = 0.01
    for threshold in np.arange(0.01, 1.0, 0.01):
        if (scores[positive] < threshold).mean() <= cap:
            chosen = round(float(threshold), 2)
    return chosen


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """The gap between confidence and accuracy, averaged over equal-width bins weighted by size:
    0 when a probability of 0.8 is right 80% of the time."""
    probabilities = np.asarray(probabilities, dtype=float)
    labels = np.asarray(labels, dtype=float)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.mean() * abs(probabilities[inside].mean() - labels[inside].mean())
    return float(error)
