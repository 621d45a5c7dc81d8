"""The LSTM surrogate: reads the first part of a learning curve and forecasts quantiles of Dice at any larger size.

A small uni-directional LSTM reads the observed points in order of size, each as features of (log n, Dice, step
from the previous point); a head turns its final state into one forecast curve per quantile level, read at any size.
Every curve rises, gains less with every doubling and stays below 1, and the levels never cross, whatever the
weights (:class:`~.network.SurrogateNet`). It is trained with the pinball loss on synthetic curves from
:mod:`samplecast.forecast.prior` (and optionally measured curves), and its forecasts can carry a shift of the median
(:class:`~samplecast.forecast.shift.MedianShift`) and a widening of the intervals
(:class:`~samplecast.forecast.calibration.SpreadCalibration`) learned on real curves, both keeping those shapes.

One concern per module:

- :mod:`~.features`: what the network reads of a curve (:func:`encode_points`, :func:`thin_indices`);
- :mod:`~.architecture`: the architecture and the arrays its weights are (:class:`SurrogateConfig`);
- :mod:`~.network`: the network in torch, to train (:class:`SurrogateNet`);
- :mod:`~.forward`: the same network's forward pass in numpy, to forecast without torch (:func:`forward`);
- :mod:`~.model`: a trained surrogate forecasting one curve (:class:`Surrogate`, :func:`new_surrogate`);
- :mod:`~.loss`: the pinball loss and its mean on a corpus (:func:`evaluate_loss`);
- :mod:`~.sampler`: training and evaluation batches of curves cut at random prefixes;
- :mod:`~.corpus`: a user's curves tables read (:func:`load_corpus`) and mixed with the prior (:func:`mixed_corpus`);
- :mod:`~.config`: the settings of a training run (:class:`TrainingConfig`);
- :mod:`~.training`: training under Lightning (:func:`train_surrogate`, :func:`train_on_curves`);
- :mod:`~.calibrate`: the shift of the median and the widening of the intervals learned on real curves
  (:func:`learn_shift`, :func:`calibrate_surrogate`);
- :mod:`~.persistence`: the ``.npz``/``.json`` files (:func:`load_surrogate`, :func:`save_surrogate`);
- :mod:`~.estimator`: the ``lstm`` forecaster (:class:`LSTMForecaster`).

The modules that need torch (network, loss, sampler, training) are imported on first use of their names: a forecast
loads neither torch nor Lightning.

The shipped model lives in ``samplecast/assets/``: ``surrogate.npz`` (the weights, numpy arrays) and
``surrogate.json`` (architecture, training settings, calibration, median shift).

Example:
    >>> from samplecast.forecast.surrogate import LSTMForecaster
    >>> f = LSTMForecaster().fit([16, 80, 160], [0.45, 0.61, 0.68])
    >>> q = f.predict_quantiles([400, 800])
    >>> q.shape, bool((q[:, 1:] >= q[:, :-1]).all())
    ((2, 7), True)
"""

from __future__ import annotations

from samplecast import lazy_names
from samplecast.forecast.surrogate.architecture import TRAIN_LEVELS, SurrogateConfig
from samplecast.forecast.surrogate.calibrate import calibrate_surrogate, learn_shift
from samplecast.forecast.surrogate.config import TrainingConfig
from samplecast.forecast.surrogate.corpus import load_corpus, load_training_curves, mixed_corpus
from samplecast.forecast.surrogate.estimator import LSTMForecaster
from samplecast.forecast.surrogate.features import (
    MAX_CURVE_POINTS, MIN_POINTS, N_FEATURES, encode_points, thin_curve, thin_indices,
)
from samplecast.forecast.surrogate.model import Surrogate, new_surrogate
from samplecast.forecast.surrogate.persistence import (
    check_output, load_surrogate, save_surrogate, shipped_weights,
)

#: Names served by modules that load torch (and, for training, Lightning, which takes seconds), imported on first
#: use: forecasting needs none of them.
_LAZY: dict[str, str] = {
    "SurrogateNet": "network", "evaluate_loss": "loss", "pinball_loss": "loss", "INSIDE_WEIGHT": "sampler",
    "sample_batch": "sampler", "SurrogateModule": "training", "train_surrogate": "training",
    "train_on_curves": "training",
}

__all__ = [
    "INSIDE_WEIGHT", "MAX_CURVE_POINTS", "MIN_POINTS", "N_FEATURES", "TRAIN_LEVELS", "LSTMForecaster", "Surrogate",
    "SurrogateConfig", "SurrogateNet", "TrainingConfig", "calibrate_surrogate", "check_output", "encode_points",
    "evaluate_loss", "learn_shift", "load_corpus", "load_surrogate", "load_training_curves", "mixed_corpus",
    "new_surrogate", "pinball_loss", "sample_batch", "save_surrogate", "shipped_weights", "thin_curve", "thin_indices",
    "SurrogateModule", "train_surrogate", "train_on_curves",
]

__getattr__ = lazy_names(__name__, _LAZY)
