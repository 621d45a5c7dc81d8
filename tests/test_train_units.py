"""Building blocks of the trainer that need no training: augmentation, batch feeding, the configuration."""

from __future__ import annotations

import pytest
import torch

from samplecast.train.augment import BatchAugment, draw_width
from samplecast.train.batches import InOrder, RandomBatches, RunStream
from samplecast.train.config import Cell, SweepConfig, TrainSettings, protocol_id, run_id, size_problems
from samplecast.train.loops.outcome import throttled
from samplecast.train.threads import busy_cores, free_core_share
from samplecast.train.unet import build_unet


def _marked_batch(n: int = 64, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose first channel equals the mask, which marks one corner pixel, so geometry can be traced."""
    masks = torch.zeros(n, 1, size, size)
    masks[:, 0, 0, 1] = 1  # an asymmetric mark: each of the 8 dihedral transforms moves it somewhere distinct
    images = torch.cat([masks.clone(), torch.randn(n, 2, size, size)], dim=1)
    return images, masks


def _draws(n: int, spatial_dims: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, draw_width(spatial_dims), generator=torch.Generator().manual_seed(seed))


def test_augment_moves_images_and_masks_together():
    images, masks = _marked_batch()
    out_images, out_masks = BatchAugment(brightness=0, contrast=0)(images, masks, _draws(len(images)))
    assert out_images.shape == images.shape and out_masks.shape == masks.shape
    assert torch.equal(out_images[:, :1], out_masks)


def test_augment_draws_every_rotation_and_reflection_per_sample():
    images, masks = _marked_batch(n=256)
    _, out_masks = BatchAugment()(images, masks, _draws(len(images)))
    positions = {tuple(torch.nonzero(mask[0])[0].tolist()) for mask in out_masks}
    assert len(positions) == 8  # the mark lands in all 8 places the square's symmetries can take it


def test_augment_changes_intensity_per_sample_but_not_masks():
    images, masks = torch.ones(16, 1, 8, 8) * torch.arange(8.0), torch.ones(16, 1, 8, 8)
    out_images, out_masks = BatchAugment(flip_prob=0, brightness=0.5, contrast=0.5)(images, masks, _draws(16))
    assert torch.equal(out_masks, masks)
    means = out_images.mean(dim=(1, 2, 3))
    assert means.std() > 0.05  # each sample got its own brightness shift


def test_augment_is_a_function_of_its_draws_and_works_in_3d():
    images, masks = torch.randn(4, 1, 6, 6, 6), (torch.rand(4, 1, 6, 6, 6) > 0.5).to(torch.uint8)
    first = BatchAugment()(images, masks, _draws(4, 3, seed=3))
    second = BatchAugment()(images, masks, _draws(4, 3, seed=3))
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert first[1].dtype == torch.uint8 and first[0].shape == images.shape
    with pytest.raises(ValueError, match="draws must have shape"):
        BatchAugment()(images, masks, _draws(4, 2))


@pytest.mark.parametrize("options", [{"flip_prob": 1.5}, {"brightness": -1}, {"contrast": 1.0}])
def test_augment_rejects_out_of_range_options(options):
    with pytest.raises(ValueError):
        BatchAugment(**options)


def test_random_batches_cover_every_case_once_per_pass_and_fill_small_subsets():
    images = torch.arange(10.0).view(10, 1, 1, 1)
    stream = iter(RandomBatches(images, images.clone(), batch_size=5, seed=0))
    first_pass = torch.cat([next(stream)[0].flatten() for _ in range(2)])
    assert sorted(first_pass.tolist()) == list(range(10))
    tiny = next(iter(RandomBatches(images[:3], images[:3], batch_size=8, seed=0)))[0]
    assert len(tiny) == 8 and set(tiny.flatten().tolist()) == {0.0, 1.0, 2.0}


def test_random_batches_depend_only_on_the_seed():
    images = torch.arange(20.0).view(20, 1, 1, 1)

    def first_batch(seed):
        return next(iter(RandomBatches(images, images, batch_size=6, seed=seed)))

    assert all(torch.equal(a, b) for a, b in zip(first_batch(1), first_batch(1)))
    assert not torch.equal(first_batch(1)[0], first_batch(2)[0])
    assert not torch.equal(first_batch(1)[2], first_batch(2)[2])


def test_a_run_stream_draws_the_batches_random_batches_feed():
    images = torch.arange(12.0).view(12, 1, 1, 1)
    stream, batches = RunStream(12, 5, seed=4, spatial_dims=2, device="cpu"), iter(RandomBatches(images, images, 5, 4))
    for _ in range(4):  # across pass boundaries
        chosen, draws = stream.next()
        batch = next(batches)
        assert torch.equal(batch[0].flatten(), chosen.float()) and torch.equal(batch[2], draws)
        assert draws.shape == (5, draw_width(2)) and bool(((draws >= 0) & (draws < 1)).all())


def test_in_order_batches_cover_all_cases_in_order():
    images = torch.arange(7.0).view(7, 1, 1, 1)
    batches = InOrder(images, images, batch_size=3)
    assert len(batches) == 3
    assert torch.cat([b[0] for b in batches]).flatten().tolist() == list(range(7))


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_unet_keeps_the_spatial_shape_and_gives_one_logit_channel(spatial_dims):
    net = build_unet(spatial_dims, in_channels=2, depth=3)
    out = net(torch.randn(1, 2, *(16,) * spatial_dims))
    assert out.shape == (1, 1, *(16,) * spatial_dims)
    assert net.channels == (16, 32, 64) and net.strides == (2, 2)


def test_config_reports_every_bad_option_at_once():
    config = SweepConfig("d", "o", fractions=(0, 0.5, 1.5), depths=(1, 4), image_size=20, test_fraction=1.0,
                         device="tpu", workers=0, train=TrainSettings(steps=0, batch_size=0))
    problems = "\n".join(config.problems())
    for expected in ("fraction 0 ", "fraction 1.5", "depth 1 ", "does not suit depth 4", "test fraction",
                     "device 'tpu'", "workers must be", "steps must be", "batch size"):
        assert expected in problems
    assert SweepConfig("d", "o", image_size=64, depths=(3, 4)).problems() == []


def test_size_problems_names_the_multiple_each_depth_needs():
    assert size_problems((64, 64), (4, 5)) == []
    (line,) = size_problems((48, 48), (4, 6))
    assert "depth 6" in line and "multiple of 32" in line


def test_config_round_trips_through_its_dictionary():
    config = SweepConfig("data", "out", fractions=(0.5, 0.1), depths=(3,), seeds=(1, 0),
                         train=TrainSettings(steps=7))
    again = SweepConfig.from_dict(config.to_dict())
    assert again == config and again.fractions == (0.1, 0.5) and again.seeds == (0, 1)


def test_run_ids_change_with_the_protocol_and_cell_only():
    key = {"name": "d", "cases": "abc", "shape": [3, 32, 32]}
    base = SweepConfig("d", "out-a", image_size=32, train=TrainSettings(steps=10))
    moved = SweepConfig("elsewhere", "out-b", image_size=32, device="cpu", train=TrainSettings(steps=10))
    longer = SweepConfig("d", "out-a", image_size=32, train=TrainSettings(steps=20))
    cell = Cell(0.5, 3, 0)
    protocol = protocol_id(key, base.protocol())
    assert run_id(protocol, cell) == run_id(protocol_id(key, moved.protocol()), cell)
    assert run_id(protocol, cell) != run_id(protocol_id(key, longer.protocol()), cell)
    assert run_id(protocol, cell) != run_id(protocol, Cell(0.5, 3, 1))
    assert len(run_id(protocol, cell)) == 12


def test_the_threads_of_a_sweep_are_no_part_of_its_protocol():
    assert SweepConfig("d", "o", threads=1).protocol() == SweepConfig("d", "o").protocol()
    assert SweepConfig("d", "o", threads=0).problems() == ["threads must be at least 1, got 0"]


@pytest.mark.parametrize(("concurrent", "cores", "load", "environ", "expected"), [
    (1, 2, 0.1, {}, 2),                            # an idle 2-core machine: both cores
    (1, 2, 2.4, {}, 1),                            # two busy processes beside it: never less than one
    (1, 2, 5.0, {}, 1),
    (2, 16, 4.2, {}, 6),                           # 12 free cores shared by two worker processes
    (3, 8, 0.0, {}, 2),
    (2, 16, 4.2, {"OMP_NUM_THREADS": "3"}, 3),     # the user's explicit choice wins
    (1, 2, 0.0, {"OMP_NUM_THREADS": "many"}, 2),   # ... when it is a number
])
def test_runs_at_once_share_the_free_cores(concurrent, cores, load, environ, expected):
    assert free_core_share(concurrent, cores=cores, load=load, environ=environ) == expected


@pytest.mark.parametrize(("loadavg", "expected"), [
    ("0.12 0.30 0.41 3/512 4242", 2.0),   # two busy loops started seconds ago: the average has not seen them yet
    ("2.60 1.90 1.20 1/512 4242", 2.6),   # they stopped just now: the average still counts them
    ("0.00 0.00 0.00 1/80 7", 0.0),       # only this process runs
])
def test_busy_cores_counts_work_the_load_average_has_not_caught_up_with(loadavg, expected):
    assert busy_cores(loadavg) == expected
    assert free_core_share(1, cores=2, load=busy_cores(loadavg), environ={}) == (2 if expected < 0.5 else 1)


def test_throttled_progress_reports_at_most_every_interval_and_always_the_last_step():
    seen = []
    report = throttled(lambda step, total: seen.append(step), interval_s=3600)
    for step in range(1, 101):
        report(step, 100)
    assert seen == [1, 100]
