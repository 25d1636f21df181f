"""``Space.arch_id`` remembers the canonical id of strings (a search looks the same ids up ~10^4
times): the memo must give exactly what ``format(parse(text))`` gives, never remember a malformed
string, stay per instance, stay bounded and stay out of pickles. Real spaces, no data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from penas.spaces import base, get_space
from penas.spaces.base import ArchParseError


@pytest.mark.parametrize("name", ["nasbench_macro", "nb201", "darts"])
def test_memo_gives_what_parse_and_format_give(name):
    sp = get_space(name)
    rng = np.random.default_rng(0)
    ids = [sp.format(sp.sample(rng)) for _ in range(20)]
    for a in ids + ids:  # the second pass reads the memo
        assert sp.arch_id(a) == sp.format(sp.parse(a)) == a


def test_alternative_forms_and_errors():
    sp = get_space("nasbench_macro")
    assert sp.arch_id(" (0, 2, 0, 1, 2, 1, 0, 0) ") == "02012100"
    assert sp.arch_id(" (0, 2, 0, 1, 2, 1, 0, 0) ") == "02012100"
    for _ in range(2):  # a malformed string raises every time: it is never remembered
        with pytest.raises(ArchParseError, match="layer 2"):
            sp.arch_id("02312100")
    assert "02312100" not in sp._arch_id_memo
    assert "02012100" not in get_space("nasbench_macro").__dict__.get("_arch_id_memo", {})  # per instance


def test_memo_is_bounded_and_not_pickled(monkeypatch):
    monkeypatch.setattr(base, "ARCH_ID_MEMO", 4)
    sp = get_space("nasbench_macro")
    ids = [sp.format(a) for a in list(sp.enumerate())[:10]]
    assert [sp.arch_id(a) for a in ids] == ids
    assert len(sp._arch_id_memo) <= 4
    clone = pickle.loads(pickle.dumps(sp))
    assert "_arch_id_memo" not in clone.__dict__ and clone.arch_id(ids[0]) == ids[0]


def test_macro_check_fast_path_keeps_the_rules():
    sp = get_space("nasbench_macro")
    assert sp.format((0, 2, 0, 1, 2, 1, 0, 0)) == "02012100"
    assert sp.format(tuple(np.int64(c) for c in (0, 2, 0, 1, 2, 1, 0, 0))) == "02012100"  # numpy ints: slow path
    for bad in [(True, 2, 0, 1, 2, 1, 0, 0), (0.0, 2, 0, 1, 2, 1, 0, 0), (0, 3, 0, 1, 2, 1, 0, 0),
                (0, -1, 0, 1, 2, 1, 0, 0), (0, 2, 0), [0, 2, 0, 1, 2, 1, 0, 0]]:
        with pytest.raises(ValueError, match="8-tuple"):
            sp.format(bad)
