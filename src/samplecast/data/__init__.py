"""The dataset layer: read a dataset folder into arrays, split it, and draw nested training subsets.

Layouts: 2D image/mask folders (:mod:`~samplecast.data.folder2d`), Medical Segmentation Decathlon and BraTS NIfTI
folders (:mod:`~samplecast.data.nifti`); generated datasets for demos and tests (:mod:`~samplecast.data.synthetic`).
"""

from samplecast.data.dataset import FORMATS, SegmentationDataset, detect_format, load_dataset
from samplecast.data.splits import (
    Splits,
    check_fractions,
    nested_subset,
    nested_subsets,
    split_cases,
    write_case_lists,
)
from samplecast.data.synthetic import write_synthetic_2d, write_synthetic_3d

__all__ = [
    "FORMATS",
    "SegmentationDataset",
    "Splits",
    "check_fractions",
    "detect_format",
    "load_dataset",
    "nested_subset",
    "nested_subsets",
    "split_cases",
    "write_case_lists",
    "write_synthetic_2d",
    "write_synthetic_3d",
]
