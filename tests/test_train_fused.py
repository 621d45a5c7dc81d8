"""Fused training: K runs stacked into one batched model train exactly as each would alone, a diverging run fails
alone, and only networks without state or randomness are stacked."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from samplecast.train.config import Cell, TrainSettings
from samplecast.train.engines.fused import balanced_groups
from samplecast.train.loops.vmap import GroupRun, fit_and_test_group
from samplecast.train.unet import build_unet, check_stackable
from samplecast.train.loops.outcome import TrainingDiverged
from samplecast.train.loops.lightning import fit_and_test
from test_train_runner import _discs

SETTINGS = TrainSettings(steps=20, batch_size=2, lr=5e-3, val_every=5)
#: Four runs as a sweep has them: nested subsets of one pool, two seeds.
SUBSETS, SEEDS = [range(5), range(10), range(5), range(10)], [0, 0, 1, 1]

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def splits():
    """A pool of 10 cases of 24 px and validation and test sets, for depth-2 U-Nets."""
    return _discs(10, size=24, seed=0), _discs(3, size=24, seed=1), _discs(4, size=24, seed=2)


def _group(pool, val, test, settings=SETTINGS):
    runs = [GroupRun(torch.tensor(list(subset)), seed) for subset, seed in zip(SUBSETS, SEEDS)]
    return dict(fit_and_test_group(*pool, runs, val, test, depth=2, settings=settings, device="cpu"))


@pytest.fixture(scope="module")
def alone(splits):
    pool, val, test = splits
    torch.set_num_threads(1)
    return [fit_and_test((pool[0][list(subset)], pool[1][list(subset)]), val, test, depth=2, seed=seed,
                         settings=SETTINGS, device="cpu") for subset, seed in zip(SUBSETS, SEEDS)]


def test_each_fused_run_trains_as_it_would_alone(splits, alone):
    fused = _group(*splits)
    assert sorted(fused) == [0, 1, 2, 3]
    for k, single in enumerate(alone):
        run = fused[k]
        assert run.train_loss.shape == (SETTINGS.steps,)
        np.testing.assert_allclose(run.train_loss, single.train_loss, rtol=1e-5)
        np.testing.assert_allclose(run.test_dice, single.test_dice, atol=1e-3)
        assert run.best_step == single.best_step
        assert run.best_val_dice == pytest.approx(single.best_val_dice, abs=1e-3)
    assert not np.allclose(fused[0].train_loss, fused[2].train_loss)  # the runs really differ


def test_a_diverging_run_fails_alone_and_the_others_train_on_untouched(splits, alone):
    (images, masks), val, test = splits
    images = images.clone()
    images[7] = float("nan")  # only the runs on 10 cases see case 7; keep one of them (run 1) in the group
    runs = [GroupRun(torch.tensor(list(subset)), seed) for subset, seed in zip(SUBSETS[:3], SEEDS[:3])]
    fused = dict(fit_and_test_group(images, masks, runs, val, test, depth=2, settings=SETTINGS, device="cpu"))
    assert isinstance(fused[1], TrainingDiverged) and "NaN or infinite at step" in str(fused[1])
    for k in (0, 2):
        np.testing.assert_allclose(fused[k].train_loss, alone[k].train_loss, rtol=1e-5)
        np.testing.assert_allclose(fused[k].test_dice, alone[k].test_dice, atol=1e-3)


def test_a_validation_interval_longer_than_the_run_checks_at_its_end_as_alone(splits):
    pool, val, test = splits
    settings = TrainSettings(steps=3, batch_size=2, val_every=10)
    fused = dict(fit_and_test_group(*pool, [GroupRun(torch.arange(5), 0)], val, test, depth=2, settings=settings,
                                    device="cpu"))
    alone = fit_and_test((pool[0][:5], pool[1][:5]), val, test, depth=2, seed=0, settings=settings, device="cpu")
    assert fused[0].best_step == alone.best_step == 3


def test_a_diverging_run_is_reported_at_the_next_validation_check(splits):
    pool, val, test = splits
    settings = TrainSettings(steps=6, batch_size=2, lr=1e30, val_every=3)
    runs = [GroupRun(torch.arange(5), 0)]
    events = list(fit_and_test_group(*pool, runs, val, test, depth=2, settings=settings, device="cpu"))
    assert len(events) == 1 and isinstance(events[0][1], TrainingDiverged)


def test_the_unet_is_stackable_and_stateful_networks_are_refused():
    check_stackable(build_unet(2, 3, 4))
    check_stackable(build_unet(3, 1, 2))
    with pytest.raises(ValueError, match="running statistics"):
        check_stackable(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    with pytest.raises(ValueError, match="drops out"):
        check_stackable(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.1)))


@pytest.mark.parametrize(("count", "most", "sizes"), [(24, 16, [12, 12]), (7, 3, [2, 3, 2]), (5, 8, [5]),
                                                     (1, 1, [1])])
def test_groups_are_balanced_and_keep_the_order(count, most, sizes):
    cells = [Cell(0.1 * (i + 1), 4, 0) for i in range(count)]
    groups = balanced_groups(cells, most)
    assert [len(group) for group in groups] == sizes
    assert [cell for group in groups for cell in group] == cells
