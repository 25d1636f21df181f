"""The ReLU code products of the shared pass (nwot's K, SWAP's distinct patterns) are exact: one
code tensor per ReLU serves both, and the pattern words equal a brute-force count.

Random tensors (synthetic on purpose): only exact integer arithmetic is under test, for batch sizes
around the 24-sample chunks and 64-bit words of :func:`pattern_words`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from penas.estimators.proxies.context import codes_agreement, count_distinct_rows, pattern_words, sign_codes


@pytest.mark.parametrize("b", [1, 7, 24, 25, 48, 63, 64, 65, 130])
def test_pattern_words_and_agreement_match_brute_force(b):
    g = torch.Generator().manual_seed(b)
    xs = [torch.randn(b, 3, 4, 4, generator=g), torch.randn(b, 2, 3, 3, generator=g).clamp(min=0)]
    xs.append(torch.cat([xs[0][:, :1]] * 2, 1))  # repeated units: patterns seen twice
    codes = [sign_codes(x) for x in xs]
    brute = {tuple(col) for c in codes for col in c.t().to(torch.int64).tolist()}
    assert count_distinct_rows([pattern_words(c) for c in codes]) == len(brute)
    for c in codes:
        a = c.numpy().astype(np.int64)
        want = (a[:, None, :] == a[None, :, :]).sum(-1)
        assert np.array_equal(codes_agreement(c), want.astype(np.float64))
