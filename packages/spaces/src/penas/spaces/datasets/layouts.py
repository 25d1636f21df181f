"""Which on-disk layout a dataset directory has (``npy``, ``pickle`` or ``imagefolder``).

The file names of each layout and :func:`find_layout`, which only looks at names (nothing is
read or unpickled); :mod:`penas.spaces.datasets.cifar` reads the files,
:func:`penas.spaces.datasets.spec.resolve_auto` uses the detection to pick real data first.
"""

from __future__ import annotations

from pathlib import Path

PICKLE_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels"),
}
NPY_FILES = ("train_images.npy", "train_labels.npy", "test_images.npy", "test_labels.npy")


def find_layout(directory: str | Path, name: str = "cifar10") -> tuple[str, Path] | None:
    """``(layout, directory holding the files)`` for ``directory``, or ``None`` when it holds none."""
    d = Path(directory)
    if not d.is_dir():
        return None
    if all((d / f).is_file() for f in NPY_FILES):
        return "npy", d
    if name in PICKLE_LAYOUT:
        sub, train, test, _ = PICKLE_LAYOUT[name]
        for c in (d / sub, d):
            if all((c / f).is_file() for f in train + test):
                return "pickle", c
    if (d / "train").is_dir() and any((d / t).is_dir() for t in ("test", "val")):
        return "imagefolder", d
    return None


def expected_layouts(name: str) -> str:
    sub, train, test, _ = PICKLE_LAYOUT.get(name, PICKLE_LAYOUT["cifar10"])
    return (f"DIR/{{train,test}}_{{images,labels}}.npy, DIR/{sub}/{{{','.join(train + test)}}} (the python "
            "batches) or DIR/{train,test}/<class>/<image>")
