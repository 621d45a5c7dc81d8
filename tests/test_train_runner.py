"""One training run under Lightning: it learns, it is repeatable on the CPU, it keeps the best weights, it scores
empty ground truth explicitly, and it reports divergence."""

from __future__ import annotations

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from samplecast.train.batches import InOrder, RandomBatches
from samplecast.train.config import TrainSettings
from samplecast.train.loops.lightning import (
    SegmentationModule, TrainingDiverged, build_module, build_trainer, fit_and_test, quiet_lightning, run_limits,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest, and predictably, on one thread of a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _discs(n: int, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Bright discs on noise: an easy segmentation task a small U-Net learns in a few dozen steps."""
    generator = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    images = 0.5 * torch.randn(n, 1, size, size, generator=generator)
    masks = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    for i in range(n):
        radius = int(torch.randint(4, 9, (1,), generator=generator))
        cy, cx = torch.randint(radius, size - radius, (2,), generator=generator).tolist()
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
        masks[i, 0, disc] = 1
        images[i, 0, disc] += 2.0
    return images, masks


@pytest.fixture(scope="module")
def splits():
    return _discs(16, seed=0), _discs(4, seed=1), _discs(6, seed=2)


def _run(splits, **settings):
    train, val, test = splits
    options = {"steps": 30, "batch_size": 4, "val_every": 10, **settings}
    return fit_and_test(train, val, test, depth=2, seed=0, settings=TrainSettings(**options), device="cpu")


def test_run_learns_and_reports_per_case_dice(splits):
    outcome = _run(splits, steps=40, lr=1e-2)
    assert outcome.test_dice.shape == (6,)
    assert np.all((outcome.test_dice >= 0) & (outcome.test_dice <= 1))
    assert outcome.test_dice.mean() > 0.5  # empty predictions would score 0 on every disc
    assert outcome.precision == "32-true" and outcome.wall_s > 0


def test_run_is_repeatable_on_cpu(splits):
    first, second = _run(splits, steps=12, val_every=4), _run(splits, steps=12, val_every=4)
    np.testing.assert_array_equal(first.test_dice, second.test_dice)
    assert first.best_step == second.best_step


def test_a_run_leaves_the_process_wide_torch_settings_as_the_caller_set_them(splits):
    settings = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    _run(splits, steps=4, val_every=2)
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.benchmark) == settings


def test_run_tests_the_weights_of_the_best_validation_check(splits):
    train, val, _ = splits
    settings = TrainSettings(steps=30, batch_size=4, lr=5e-3, val_every=10)
    L.seed_everything(0, verbose=False)
    module = build_module(train[0], 2, settings)
    with quiet_lightning():
        trainer = build_trainer(device="cpu", **run_limits(settings))
        trainer.fit(module, RandomBatches(*train, batch_size=4, seed=0), InOrder(*val, 8))
        steps, scores = zip(*module.val_history_)
        assert steps == (10, 20, 30)
        assert module.best_val_dice_ == max(scores) and module.best_step_ == steps[int(np.argmax(scores))]
        trainer.validate(module, InOrder(*val, 8), verbose=False)  # the restored weights score the best again
    assert module.val_history_[-1][1] == pytest.approx(module.best_val_dice_, abs=1e-6)


class _Constant(nn.Module):
    """A "network" predicting the same logit everywhere, to check how empty masks are scored."""

    def __init__(self, logit: float):
        super().__init__()
        self.logit = nn.Parameter(torch.tensor(logit))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logit.expand(images.shape[0], 1, *images.shape[2:])


@pytest.mark.parametrize(("logit", "expected"), [(-5.0, [1.0, 0.0]), (5.0, [0.0, 1.0])])
def test_empty_ground_truth_scores_one_only_for_an_empty_prediction(logit, expected):
    images = torch.zeros(2, 1, 8, 8)
    masks = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    masks[1] = 1  # case 0: empty ground truth; case 1: all foreground
    module = SegmentationModule(_Constant(logit), total_steps=1)
    with quiet_lightning():
        trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
        trainer.test(module, InOrder(images, masks, 2), verbose=False)
    np.testing.assert_allclose(module.test_dice_, expected)


def test_a_diverging_run_raises(splits):
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        _run(splits, lr=1e30, steps=4, val_every=2)


def test_run_without_validation_cases_tests_the_last_weights(splits):
    train, _, test = splits
    empty = (train[0][:0], train[1][:0])
    outcome = fit_and_test(train, empty, test, depth=2, seed=0, device="cpu",
                           settings=TrainSettings(steps=5, batch_size=4))
    assert outcome.best_step is None and np.isnan(outcome.best_val_dice)
    assert outcome.test_dice.shape == (6,)
