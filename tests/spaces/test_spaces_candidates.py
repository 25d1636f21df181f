"""The one candidate selector (``all | benchmark | sample:N | deiso | auto | FILE``).

A fake benchmark (an object with ``arch_ids``) stands in for a GT table where the selector only
needs its rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from penas.spaces import get_space
from penas.spaces.candidates import select_candidates


class FakeBench:
    def __init__(self, ids):
        self.arch_ids = list(ids)

    def __len__(self):
        return len(self.arch_ids)


@pytest.fixture(scope="module")
def macro():
    return get_space("nasbench_macro")


def test_all_enumerates_and_deiso_keeps_one_per_class():
    nb201 = get_space("nb201")
    sel = select_candidates(nb201, "all", 0)
    assert len(sel.ids) == nb201.size == 15625 and not sel.from_benchmark
    deiso = select_candidates(nb201, "deiso", 0).ids
    assert len(deiso) == len(set(deiso)) < 15625
    assert {nb201.format(nb201.canonical(nb201.parse(a))) for a in deiso} == set(deiso)


def test_sample_is_seeded_and_sorted_on_request(macro):
    a = select_candidates(macro, "sample:20", 3).ids
    assert a == select_candidates(macro, "sample:20", 3).ids and len(set(a)) == 20
    assert a != select_candidates(macro, "sample:20", 4).ids
    assert select_candidates(macro, "sample:20", 3, sort_samples=True).ids == sorted(a)
    rng = np.random.default_rng(3)  # the documented draw: sample_many with default_rng(seed)
    assert a == [macro.format(x) for x in macro.sample_many(20, rng)]


def test_benchmark_and_auto(macro):
    rows = select_candidates(macro, "sample:30", 1).ids
    bench = FakeBench(reversed(rows))
    sel = select_candidates(macro, "benchmark", 0, bench)
    assert sel.ids == sorted(rows) and sel.from_benchmark
    assert select_candidates(macro, "auto", 0, bench, allow_auto=True).ids == sorted(rows)  # a sampled table
    full = select_candidates(macro, "auto", 0, None, allow_auto=True)
    assert full.spec == "all" and len(full.ids) == macro.size
    darts = get_space("darts")
    assert len(select_candidates(darts, "auto", 0, None, allow_auto=True).ids) == 1000
    d_rows = select_candidates(darts, "sample:5", 0).ids
    assert select_candidates(darts, "all", 0, FakeBench(d_rows)).ids == sorted(d_rows)
    assert not select_candidates(darts, "sample:3", 0, FakeBench(d_rows)).from_benchmark  # darts has a size
    nb101 = get_space("nb101")  # size unknown: sample:N draws from the table's rows
    n_rows = select_candidates(nb101, "sample:6", 0).ids
    picked = select_candidates(nb101, "sample:3", 0, FakeBench(n_rows))
    assert picked.from_benchmark and set(picked.ids) <= set(n_rows) and len(picked.ids) == 3


def test_file_of_ids(macro, tmp_path):
    ids = select_candidates(macro, "sample:3", 0).ids
    f = tmp_path / "ids.txt"
    f.write_text("# my archs\n\n" + "\n".join(ids) + "\n")
    assert select_candidates(macro, str(f), 0).ids == ids


@pytest.mark.parametrize(("spec", "bench", "match"), [
    ("sample:0", None, r"^--archs: expected all, benchmark, deiso, sample:N \(N >= 1\) or a file"),
    ("sample:x", None, r"^--archs: expected"),
    ("bogus", None, r"^--archs: expected .* got 'bogus'$"),
    ("auto", None, r"^--archs: expected"),
    ("benchmark", None, r"^--archs: benchmark: no table for 'nasbench_macro' \(none found\)$"),
    ("", None, r"^--archs: expected"),
])
def test_bad_specs_are_one_line_errors(macro, spec, bench, match):
    with pytest.raises(ValueError, match=match) as e:
        select_candidates(macro, spec, 0, bench)
    assert "\n" not in str(e.value)


def test_bad_files_and_spaces_are_one_line_errors(macro, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ValueError, match=r"^--candidates: .*empty.txt holds no arch ids$"):
        select_candidates(macro, str(empty), 0, option="--candidates")
    bad = tmp_path / "bad.txt"
    bad.write_text("00000000\nnot-an-arch\n")
    with pytest.raises(ValueError, match=r"^--archs: .*bad.txt:2: not a nasbench_macro arch id") as e:
        select_candidates(macro, str(bad), 0)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="deiso needs an enumerable space"):
        select_candidates(get_space("darts"), "deiso", 0)
    with pytest.raises(ValueError, match="cannot be enumerated and has no benchmark table"):
        select_candidates(get_space("darts"), "all", 0)
