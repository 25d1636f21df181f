"""THE data-spec parser: the ``--data`` strings of every command.

Syntax: ``KIND[:ARG][@SPLIT]``

========================  ===========================================================================
``auto``                  real CIFAR-10 under ``$PENAS_DATA/cifar10`` when present, else ``png-aug``
                          when the 20 shared PNGs exist, else ``synthetic`` (see :func:`resolve_auto`)
``synthetic[:N]``         seeded Gaussian images (N images where the command takes a set); SYNTHETIC
``png[:DIR]``             the 20 real CIFAR-10 test PNGs (``cifar10_<NN>_<label>.png``; default
                          ``$PENAS_DATA/images/foolbox_cifar10``), repeated to the batch size
``png-aug[:N]``           the same 20 PNGs plus seeded crop/flip copies: N distinct images
``cifar10[:DIR]``         CIFAR-10 in any of the three layouts (:mod:`penas.spaces.datasets.cifar`);
                          default ``$PENAS_DATA/cifar10``
``cifar100[:DIR]``        CIFAR-100, the same code; default ``$PENAS_DATA/cifar100``
``imagefolder:DIR``       a CIFAR-shaped ImageFolder tree ``DIR/{train,test}/<class>/*``
``ade20k:DIR``            an ADE20K-layout segmentation directory
========================  ===========================================================================

``@SPLIT`` (image-classification kinds only) selects the images: ``train`` (the default of
commands that train or score), ``test``, ``nb201-train`` / ``nb201-valid`` (CIFAR-10 only: NB201's
official 25k/25k ``cifar10-valid`` split of the training set, from ``nb201/official/cifar-split.txt``)
or ``sample:N[:SEED]`` (N training images drawn without replacement with ``SEED``, default 0).
The split is taken from the last ``@`` whose tail is a valid split, so a directory may contain ``@``.

Examples: ``cifar10``, ``cifar10@nb201-valid``, ``cifar10:/data/cifar-10-batches-py@sample:2000:1``,
``synthetic:256``, ``imagefolder:/data/cifar_png@test``.

Parsing touches no disk; :meth:`DataSpec.directory` and :func:`resolve_auto` resolve defaults.
Errors are one line that names the option (``--data`` unless told otherwise).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from .layouts import find_layout

#: kind -> (argument: "n" | "dir" | "dir?" | "n?" | None, image-classification dataset?)
KINDS: dict[str, tuple[str | None, bool]] = {
    "auto": (None, False),
    "synthetic": ("n?", False),
    "png": ("dir?", False),
    "png-aug": ("n?", False),
    "cifar10": ("dir?", True),
    "cifar100": ("dir?", True),
    "imagefolder": ("dir", True),
    "ade20k": ("dir", False),
}
USAGE = ("auto | synthetic[:N] | png[:DIR] | png-aug[:N] | cifar10[:DIR] | cifar100[:DIR] | imagefolder:DIR | "
         "ade20k:DIR, optionally @train|@test|@nb201-train|@nb201-valid|@sample:N[:SEED]")
SPLITS = ("train", "test", "nb201-train", "nb201-valid")
_SAMPLE = re.compile(r"sample:(\d+)(?::(\d+))?")


@dataclass(frozen=True)
class Split:
    """A selection of one dataset's images: ``name`` in :data:`SPLITS` or ``sample``."""

    name: str = "train"
    n: int | None = None  # sample:N
    seed: int = 0  # sample:N:SEED

    def __str__(self) -> str:
        if self.name != "sample":
            return self.name
        return f"sample:{self.n}" + (f":{self.seed}" if self.seed else "")

    @property
    def base(self) -> str:
        """The stored split the images come from (``train`` or ``test``)."""
        return "test" if self.name == "test" else "train"


def parse_split(text: str, option: str = "--data") -> Split:
    """``train | test | nb201-train | nb201-valid | sample:N[:SEED]`` -> :class:`Split`."""
    t = text.strip()
    if t in SPLITS:
        return Split(t)
    m = _SAMPLE.fullmatch(t)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise ValueError(f"{option}: sample:N needs N >= 1, got {t!r}")
        return Split("sample", n, int(m.group(2) or 0))
    raise ValueError(f"{option}: unknown split {t!r}; expected one of {', '.join(SPLITS)}, sample:N[:SEED]")


@dataclass(frozen=True)
class DataSpec:
    """A parsed ``--data`` string (see the module docstring)."""

    kind: str
    arg: str | None = None  # N (synthetic, png-aug) or DIR
    split: Split | None = None

    def __str__(self) -> str:
        s = self.kind + (f":{self.arg}" if self.arg is not None else "")
        return s + (f"@{self.split}" if self.split is not None else "")

    @property
    def synthetic(self) -> bool:
        return self.kind == "synthetic"

    @property
    def is_classification_dataset(self) -> bool:
        """CIFAR-10/100 or an ImageFolder tree: a dataset with splits (not a fixed batch source)."""
        return KINDS[self.kind][1]

    @property
    def n(self) -> int | None:
        """The ``N`` of ``synthetic:N`` / ``png-aug:N`` (None when not given)."""
        return int(self.arg) if self.arg is not None and KINDS[self.kind][0] in ("n", "n?") else None

    def directory(self, root: str | Path | None = None) -> Path:
        """The directory this spec reads: ``DIR`` when given, else the kind's default under the data root."""
        from ..paths import data_root

        if self.arg is not None and KINDS[self.kind][0] in ("dir", "dir?"):
            return Path(self.arg).expanduser()
        default = {"cifar10": "cifar10", "cifar100": "cifar100", "png": "images/foolbox_cifar10"}.get(self.kind)
        if default is None:
            raise ValueError(f"--data: {self.kind!r} takes no directory")
        return data_root(root) / default

    def with_split(self, split: str | Split) -> DataSpec:
        """The same source with ``split`` (kept when the spec already names one)."""
        if self.split is not None or not self.is_classification_dataset:
            return self
        return replace(self, split=split if isinstance(split, Split) else parse_split(split))


def parse_data_spec(text: str, option: str = "--data") -> DataSpec:
    """Parse a ``--data`` string; one-line ``ValueError`` naming ``option`` when it is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{option}: expected {USAGE}; got {text!r}")
    t = text.strip()
    split: Split | None = None
    head, at, tail = t.rpartition("@")
    if at and head:
        try:
            split = parse_split(tail, option)
        except ValueError:
            if tail in SPLITS or tail.startswith("sample"):
                raise
            split = None  # not a split: an '@' inside a directory name
        else:
            t = head
    kind, colon, arg = t.partition(":")
    if kind not in KINDS:
        raise ValueError(f"{option}: unknown data kind {kind!r}; expected {USAGE}")
    form, classification = KINDS[kind]
    if split is not None and not classification:
        raise ValueError(f"{option}: {kind!r} has no splits (@{split}); splits apply to cifar10, cifar100, imagefolder")
    if split is not None and split.name.startswith("nb201") and kind != "cifar10":
        raise ValueError(f"{option}: the NB201 split @{split} is defined for cifar10 only")
    if not colon:
        if form == "dir" or form == "n":
            raise ValueError(f"{option}: {kind!r} needs an argument: {kind}:{'DIR' if form == 'dir' else 'N'}")
        return DataSpec(kind, None, split)
    if form is None:
        raise ValueError(f"{option}: {kind!r} takes no argument, got {text!r}")
    if form in ("n", "n?"):
        if not re.fullmatch(r"\d+", arg) or int(arg) < 1:
            raise ValueError(f"{option}: expected {kind}:N with an integer N >= 1, got {text!r}")
        return DataSpec(kind, str(int(arg)), split)
    if not arg:
        raise ValueError(f"{option}: expected {kind}:DIR with a directory, got {text!r}")
    return DataSpec(kind, arg, split)


def resolve_auto(spec: DataSpec | str, root: str | Path | None = None) -> DataSpec:
    """``auto`` -> ``cifar10`` (real, under the data root) | ``png-aug`` (the shared PNGs) | ``synthetic``.

    Other specs are returned unchanged (parsed). The first real source found wins; synthetic
    data is used only when no real images exist.
    """
    s = parse_data_spec(spec) if isinstance(spec, str) else spec
    if s.kind != "auto":
        return s
    cifar = DataSpec("cifar10")
    if find_layout(cifar.directory(root), "cifar10") is not None:
        return cifar
    png = DataSpec("png").directory(root)
    if png.is_dir() and any(png.glob("cifar10_*.png")):
        return DataSpec("png-aug")
    return DataSpec("synthetic")
