"""One data layer for every command that takes image data (imports no torch).

* :mod:`~penas.spaces.datasets.spec` -- THE ``--data`` parser (``KIND[:ARG][@SPLIT]``) and
  :func:`resolve_auto` (real CIFAR-10 first, synthetic only when nothing real exists);
* :mod:`~penas.spaces.datasets.cifar` -- CIFAR-10/100 from the ``npy``, python-pickle and
  ImageFolder layouts (:func:`open_dataset` -> :class:`ImageDataset`, with provenance);
* :mod:`~penas.spaces.datasets.safe_pickle` -- the restricted unpickler for the python batches;
* :mod:`~penas.spaces.datasets.splits` -- ``train | test | nb201-train | nb201-valid | sample:N``;
* :mod:`~penas.spaces.datasets.transforms` -- normalisation constants and augmentations
  (torch imported lazily);
* :mod:`~penas.spaces.datasets.manage` -- import into the data root, info, download.
"""

from __future__ import annotations

from .cifar import ImageDataset, open_dataset
from .layouts import find_layout
from .safe_pickle import SafeUnpickler, UnsafePickleError, safe_load
from .spec import DataSpec, Split, parse_data_spec, parse_split, resolve_auto
from .splits import read_nb201_split, select_indices

__all__ = [
    "DataSpec",
    "ImageDataset",
    "SafeUnpickler",
    "Split",
    "UnsafePickleError",
    "find_layout",
    "open_dataset",
    "parse_data_spec",
    "parse_split",
    "read_nb201_split",
    "resolve_auto",
    "safe_load",
    "select_indices",
]
