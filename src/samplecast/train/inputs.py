"""What a sweep trains on: the configuration and the dataset checked together, the fixed splits, and the protocol id
the runs share, loaded once.

:func:`load_sweep_data` does every check before any training (configuration, dataset, fractions against the pool)
and raises one :class:`~samplecast.errors.InputError` with all problems.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from samplecast.data import FORMATS, SegmentationDataset, load_dataset
from samplecast.data.splits import Splits, check_fractions, subset_size
from samplecast.errors import InputError, raise_if_any
from samplecast.curves import SCRATCH
from samplecast.train.config import Cell, SweepConfig, dataset_key, protocol_id, size_problems
from samplecast.train.growth import DataHistory, dataset_history
from samplecast.train.start import Start, load_start


#: Most of a GPU's memory one process's copy of the dataset may take; the rest is for the model's activations.
GPU_SHARE = 0.5


@dataclass(frozen=True)
class SweepData:
    """A checked dataset with its fixed splits, as tensors (on the CPU, or moved once to the training device).

    Args:
        dataset: the loaded dataset.
        history: its fixed validation / test split and the rounds its pool grew in.
        protocol: the protocol id shared by every run of the sweep on this dataset (:func:`sweep_protocol`).
        images, masks: all cases, in ``dataset.case_ids`` order.
        start: the trained weights the runs start from (``init_from``), checked against the dataset; ``None``:
            random weights.
        scenario: the runs' label in the curves table's ``scenario`` column.
    """

    dataset: SegmentationDataset
    history: DataHistory
    protocol: str
    images: torch.Tensor
    masks: torch.Tensor
    start: Start | None = None
    scenario: str = SCRATCH

    @property
    def splits(self) -> Splits:
        """The fixed pool / validation / test split."""
        return self.history.splits

    def to(self, device: str) -> SweepData:
        """The same data with its tensors on ``device``."""
        return replace(self, images=self.images.to(device), masks=self.masks.to(device))

    @property
    def nbytes(self) -> int:
        """Memory the images and masks take."""
        return self.images.nbytes + self.masks.nbytes

    def for_training_on(self, device: str, *, share: float = GPU_SHARE,
                        gpu_memory: int | None = None) -> SweepData:
        """The data where training on ``device`` reads it fastest: on the GPU when it takes at most ``share`` of the
        GPU's memory (``gpu_memory`` bytes; default: the current GPU's), otherwise left in CPU memory, from where
        each batch is copied to the GPU, so a large 3D dataset still trains instead of running out of memory."""
        if device != "cuda":
            return self.to(device)
        total = gpu_memory if gpu_memory is not None else torch.cuda.get_device_properties(0).total_memory
        if self.nbytes <= share * total:
            return self.to(device)
        warnings.warn(f"{self.dataset.name}: the dataset takes {self.nbytes / 2**30:.1f} GiB, more than "
                      f"{share:.0%} of the GPU's {total / 2**30:.0f} GiB; it stays in CPU memory and each batch is "
                      "copied to the GPU (slower)", RuntimeWarning, stacklevel=2)
        return self

    def positions(self, case_ids: list[str]) -> torch.Tensor:
        """Where ``case_ids`` lie in :attr:`images`, as a long tensor on the tensors' device."""
        position = {case_id: i for i, case_id in enumerate(self.dataset.case_ids)}
        return torch.tensor([position[c] for c in case_ids], dtype=torch.long, device=self.images.device)

    def pick(self, case_ids: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and masks of ``case_ids``, gathered on the tensors' device."""
        index = self.positions(case_ids)
        return self.images.index_select(0, index), self.masks.index_select(0, index)

    def subset(self, cell: Cell) -> list[str]:
        """The training cases of ``cell``: a prefix of the pool in the cell's seed's order, ``size`` cases long or
        the cell's fraction of the pool."""
        size = cell.size if cell.size is not None else subset_size(len(self.splits.pool), cell.fraction)
        return self.history.order(cell.seed)[:size]


def load_sweep_data(config: SweepConfig, progress: Callable[[int, int], None] | None = None) -> SweepData:
    """Check the configuration, load the dataset (through the loader's cache), split it (keeping the split and the
    rounds ``config.out`` recorded, :func:`~samplecast.train.growth.dataset_history`) and check the fractions and
    sizes.

    ``progress(done, total)`` is passed to :func:`samplecast.data.load_dataset`.

    Raises:
        InputError: every problem found, configuration and dataset together, before anything is trained.
    """
    problems = config.problems()
    if config.engine in ("local", "fused") and config.device == "cuda" and not torch.cuda.is_available():
        problems.append("device 'cuda' was requested but no CUDA GPU is available here; use --device auto or cpu")
    if config.format not in FORMATS:  # the loader cannot run on an unknown layout
        raise InputError(problems)
    try:
        dataset = load_dataset(config.data, format=config.format, label=config.label,
                               image_size=config.image_size, progress=progress)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    if config.image_size is None:
        problems += size_problems(dataset.images.shape[2:], config.depths)
    start = None
    if config.init_from is not None and not problems:
        try:
            start = load_start(config.init_from, depths=config.depths, spatial_dims=dataset.images.ndim - 2,
                               in_channels=dataset.images.shape[1], encoder_lr=config.encoder_lr)
        except InputError as exc:
            problems += exc.problems
    raise_if_any(problems)  # fractions are checked against the pool once the options are valid
    try:
        history = dataset_history(config, dataset)
        check_fractions(len(history.splits.pool), config.fractions, config.sizes)
    except InputError as exc:
        raise InputError([f"{config.data}: {line}" for line in exc.problems]) from None
    return SweepData(dataset, history, sweep_protocol(dataset, history, config, start),
                     torch.from_numpy(np.ascontiguousarray(dataset.images)),
                     torch.from_numpy(np.ascontiguousarray(dataset.masks)), start,
                     config.scenario or (start.label if start else SCRATCH))


def sweep_protocol(dataset: SegmentationDataset, history: DataHistory, config: SweepConfig,
                   start: Start | None) -> str:
    """The protocol id of ``config``'s runs on ``dataset`` from ``start``: the one place it is computed. It is keyed
    on the first version's cases (``history.first_cases``), so cases added in later rounds leave every run id as it
    was, and on the start's checksums only when there is one, so runs from random weights keep their ids."""
    key = dataset_key(dataset.name, history.first_cases, dataset.images.shape[1:])
    protocol = config.protocol() if start is None else {**config.protocol(), "start": start.protocol()}
    return protocol_id(key, protocol)
