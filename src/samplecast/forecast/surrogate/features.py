"""What the surrogate network reads of an observed curve: per-point features, and a cap on how many points it reads.

Example:
    >>> import numpy as np
    >>> features, last = encode_points(np.array([[10.0, 40, 160]]), np.array([[0.5, 0.6, 0.7]]), np.array([3]))
    >>> features.shape, last.shape
    ((1, 3, 6), (1, 2))
"""

from __future__ import annotations

import numpy as np

from samplecast.curves import Curve

#: Features per observed point (see :func:`encode_points`).
N_FEATURES = 6
#: Fewest observed points the surrogate forecasts from.
MIN_POINTS = 2
#: Most sizes of one curve the surrogate reads, in training, calibration and forecasting; longer curves are thinned
#: (:func:`thin_indices`). Synthetic training curves have at most 12 sizes and real sweeps a dozen or two, so 32 keeps
#: every real curve whole, while a curve of thousands of sizes neither blows up the padded training arrays nor runs
#: the network far outside the lengths it learned from (forecasts of such curves drift; thinned, they do not).
MAX_CURVE_POINTS = 32


def encode_points(n: np.ndarray, dice: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of observed points, ``(B, L, N_FEATURES)``, and the last point's ``(log n, Dice)``, ``(B, 2)``.

    Per point: ``log(n / n_last) / 3``, ``log(n) / 8``, Dice, the step in log n from the previous point, the change
    in Dice from it (both 0 at the first point), and a first-point flag. Padding (beyond ``lengths``) is zeroed.
    """
    log_n = np.log(np.where(np.isfinite(n), n, 1.0))
    d = np.nan_to_num(dice)
    rows = np.arange(len(lengths))
    last_log_n, last_dice = log_n[rows, lengths - 1], d[rows, lengths - 1]
    step = np.diff(log_n, axis=1, prepend=log_n[:, :1])
    change = np.diff(d, axis=1, prepend=d[:, :1])
    first = np.zeros_like(d)
    first[:, 0] = 1.0
    features = np.stack([(log_n - last_log_n[:, None]) / 3.0, log_n / 8.0, d, step, change, first], axis=-1)
    valid = np.arange(n.shape[1])[None, :] < lengths[:, None]
    features[~valid] = 0.0
    return features.astype(np.float32), np.stack([last_log_n, last_dice], -1).astype(np.float32)


def thin_indices(n: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` of the increasing sizes ``n``, spread evenly in log n, the first and the
    last always kept (all of them when there are no more than ``max_points``).

    Why: training pads every curve to the longest one, so one curve of 200,000 sizes would make every training
    array 200,000 wide (tens of GB); a learning curve's shape is carried by a few dozen sizes spread in log n.
    """
    if len(n) <= max_points:
        return np.arange(len(n))
    log_n = np.log(n)
    wanted = np.linspace(log_n[0], log_n[-1], max_points)
    return np.unique(np.clip(np.searchsorted(log_n, wanted), 0, len(log_n) - 1))


def thin_curve(curve: Curve, max_points: int = MAX_CURVE_POINTS) -> Curve:
    """``curve`` at the sizes :func:`thin_indices` keeps (``curve`` itself when it has no more than ``max_points``)."""
    if len(curve.n) <= max_points:
        return curve
    keep = thin_indices(curve.n, max_points)
    return Curve(curve.key, curve.n[keep], curve.dice[keep], curve.sd[keep], curve.count[keep])
