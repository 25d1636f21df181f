"""Where each benchmark's raw files live, where they come from, and how they are converted.

A :class:`BenchmarkSource` names, for one space, the raw files penas looks for under the data
root (the layout of ``/work/shared/benchmarks`` and of ``penas-app data download``), their
public URLs and sha256, and the ``build`` function that turns the files that are present into
a :class:`~penas.spaces.benchmarks.table.BenchmarkTable`. Sources register in
:data:`BENCHMARK_SOURCES` at import (no disk access).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..registry import Registry
from .table import BenchmarkTable

_NASLIB = "https://raw.githubusercontent.com/automl/NASLib/22280f711aa782fe9157d1b4e5ce4f83f47ab908"
_FREEREA = "https://raw.githubusercontent.com/NiccoloCavagnero/FreeREA/fb7f54946695fe4efb78975e9de8f15ef1ee256e"
_MACRO = "https://raw.githubusercontent.com/xiusu/NAS-Bench-Macro/b1ee7c6ff9d83e6bc002adcaf5c6a9a2ba1a4ac7"


@dataclass(frozen=True)
class RawFile:
    """One raw file of a benchmark, relative to the data root.

    ``url`` is the public source (``None`` for files derived locally, which cannot be
    downloaded); ``sha256``/``size`` are those of the byte copy penas was validated on
    (``None`` where the copy penas saw was reduced, so the original's hash is unknown).
    """

    relpath: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    required: bool = False
    note: str = ""

    def path(self, root: Path) -> Path:
        return root / self.relpath


@dataclass(frozen=True)
class BenchmarkSource:
    """The raw inputs of one space's ground-truth table."""

    space: str
    description: str
    files: tuple[RawFile, ...]
    build: Callable[[Path], BenchmarkTable]
    #: Overrides the "all required files present" rule (e.g. NB201 builds from either of two inputs).
    ready: Callable[[Path], bool] | None = None

    def present(self, root: Path) -> list[RawFile]:
        return [f for f in self.files if f.path(root).is_file()]

    def buildable(self, root: Path) -> bool:
        """All required files are present (and at least one file)."""
        if self.ready is not None:
            return self.ready(root)
        req = [f for f in self.files if f.required]
        have = self.present(root)
        return bool(have) and all(f.path(root).is_file() for f in req)

    def missing_required(self, root: Path) -> list[RawFile]:
        return [f for f in self.files if f.required and not f.path(root).is_file()]

    def downloadable(self) -> list[RawFile]:
        return [f for f in self.files if f.url]


BENCHMARK_SOURCES: Registry[BenchmarkSource] = Registry("benchmark source")


def get_source(space: str) -> BenchmarkSource:
    """The registered :class:`BenchmarkSource` of ``space`` (one-line error listing known ones)."""
    return BENCHMARK_SOURCES.create(space)


def list_sources() -> list[str]:
    return BENCHMARK_SOURCES.names()


# --- the sources --------------------------------------------------------------------------
def _freerea_files() -> tuple[RawFile, ...]:
    shas = {
        ("cifar10", "accuracies"): ("a41e06dbbd097df080ee6eb3eb8c6a92d589a0f53d51d66147155fcddbcacd2d", 274605),
        ("cifar10", "params"): ("d5ec909fea57136b5734ed46cb96db9eaf2124693b4178126ef1c41d2a6e0e8b", 223278),
        ("cifar10", "synflow"): ("3da60c54c70554b230899eca3dfe7dbc04513895de28944434f28b3e88616b18", 1039185),
        ("cifar10", "logsynflow"): ("02ffa0ade7525975b2acb4b3af42a48c21ed7141dac821f80d00a43a889bb94e", 679405),
        ("cifar10", "naswot"): ("c18f163c0dd1b09a4a520ba6c7b4760015d046dab1ca146762a5c889cbbcafdd", 994567),
        ("cifar10", "nregions"): ("b59cb4cfbc249a0190be6630d6506b0a143d36caad1ed14d18e7b1afc7d87630", 649977),
        ("cifar100", "accuracies"): ("f6487d29eb75cfa40dd1741d7d77f36e935828613576f8ea2d838482f1e10169", 361050),
        ("cifar100", "params"): ("63f63f142c49c106fb9218dffb95d851ff441a4e088144d04352d99e771eb959", 223278),
        ("cifar100", "synflow"): ("837b87f72fa64c78a8fcd6f6c1a8b192656e62cbd0e3c6f5be4fcdaa2edab8c0", 1038982),
        ("cifar100", "logsynflow"): ("7058f774bb9194f3c497a9b7918f740be20db48cdd441a692b72edefad0314e4", 984736),
        ("cifar100", "naswot"): ("c3fd2cc2448b27993b32e60f9ef0ac61d94e9e277363f288793f2d4ce12ef5fc", 994958),
        ("cifar100", "nregions"): ("5a2933f833f40d3d9ba55d9bf05d63f764293d1e2c7ff46ee749a37ca6bf07bd", 649925),
        ("ImageNet16-120", "accuracies"): ("b2c6c6b30cb9dd429106cdca913bf908680a4dc1d53199e062aa1ffae1a9bf9a", 368696),
        ("ImageNet16-120", "params"): ("4ca4a5d4d3f302352f9554125a40e0aa41a0e48f9e220a72906f0b0c90caf740", 191564),
        ("ImageNet16-120", "synflow"): ("2bdea25fc4f9ebec5f89f80c454bb4965eff16a991a13658cfa521cb19450321", 1041597),
        ("ImageNet16-120", "logsynflow"): ("1aa499e415446177f37792be66285d47184013654bba9d82a3a43fb0d4d0f8c5", 985794),
        ("ImageNet16-120", "naswot"): ("5bd1e163d0b0776d97e785e28dbd262ea88d34d3bb9c9e608fa7c3cfd4c32762", 997362),
    }
    return tuple(
        RawFile(
            f"nb201/freerea/{ds}/{name}.csv",
            f"{_FREEREA}/cached_metrics/nats/{ds}/{name}.csv",
            sha,
            size,
            note="FreeREA cached metrics (NB201 index order)",
        )
        for (ds, name), (sha, size) in shas.items()
    )


NB201_TABLE = RawFile(
    "nb201/derived/nb201_table.csv",
    None,
    "8a2fbdc9912fc2ee8f27b617d91d8b7614a206a1446beaed0f358c5df594cb11",
    2736054,
    note="derived: FreeREA accuracies/params joined with the NB201 index->arch list (rebuilt from FreeREA "
    "files when absent)",
)
NB201_LATENCY = RawFile(
    "nb201/help_latency/nb201_latency_help.csv",
    None,
    "0ca05faf00d2aaffc8becb65e2a834ec195cd25bde3de761f15f48259584bc8f",
    6583680,
    note="derived from HayeonLee/HELP data/nasbench201/latency/*.pt (27 devices, ms)",
)
NB201_NASLIB = RawFile(
    "nb201/naslib_sample/gt_nasbench201_subset491.json",
    f"{_NASLIB}/naslib/data/zc_nasbench201.json",
    None,
    None,
    note="NASLib NB-Suite-Zero sample (491 archs); the shared copy is reduced, so no sha256 for the original",
)
MACRO_JSON = RawFile(
    "nasbench_macro/nas-bench-macro_cifar10.json",
    f"{_MACRO}/data/nas-bench-macro_cifar10.json",
    "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
    1178821,
    required=True,
)
NB301_NASLIB = RawFile(
    "nb301/gt_nasbench301_subset500.json",
    f"{_NASLIB}/naslib/data/zc_nasbench301.json",
    None,
    None,
    required=True,
    note="NASLib NB-Suite-Zero sample (500 archs); reduced copy, no sha256 for the original",
)
NB101_NASLIB = RawFile(
    "nb101/gt_nasbench101_subset500.json",
    f"{_NASLIB}/naslib/data/zc_nasbench101.json",
    None,
    None,
    required=True,
    note="NASLib NB-Suite-Zero sample (500 archs); reduced copy, no sha256 for the original",
)


@BENCHMARK_SOURCES.register("nb201")
def _nb201_source() -> BenchmarkSource:
    from . import nb201_import

    return BenchmarkSource(
        "nb201",
        "NAS-Bench-201 / NATS-tss: test_acc & params (3 datasets), 27 HELP latency devices, NASLib valid_acc/flops sample",
        (NB201_TABLE, NB201_LATENCY, NB201_NASLIB) + _freerea_files(),
        nb201_import.build_nb201,
        nb201_import.nb201_ready,
    )


@BENCHMARK_SOURCES.register("nasbench_macro")
def _macro_source() -> BenchmarkSource:
    from . import macro_import

    return BenchmarkSource(
        "nasbench_macro",
        "NAS-Bench-Macro (CIFAR-10): test_acc (mean of 3 runs), runs, std, params, flops for all 6,561 keys",
        (MACRO_JSON,),
        macro_import.build_macro,
    )


@BENCHMARK_SOURCES.register("darts")
def _nb301_source() -> BenchmarkSource:
    from . import naslib_import

    return BenchmarkSource(
        "darts",
        "NAS-Bench-301 sample (NASLib, 500 DARTS archs): valid_acc, params, flops on cifar10",
        (NB301_NASLIB,),
        naslib_import.build_nb301_sample,
    )


@BENCHMARK_SOURCES.register("nb101")
def _nb101_source() -> BenchmarkSource:
    from . import naslib_import

    return BenchmarkSource(
        "nb101",
        "NAS-Bench-101 sample (NASLib, 500 archs): valid_acc, params, flops on cifar10",
        (NB101_NASLIB,),
        naslib_import.build_nb101_sample,
    )
