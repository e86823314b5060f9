"""core.foundations.information_demo: every preset and comparison is a valid distribution."""

import numpy as np
import pytest

from core.errors import LabError
from core.foundations import information as info
from core.foundations import information_demo


def test_presets_and_comparisons_are_valid_distributions():
    for name in information_demo.PRESETS[:-1]:  # the language-model preset is tested on its page
        for n, bias in ((1, 0.0), (8, 0.5), (64, 1.0)):
            labels, p = information_demo.preset(name, n, bias)
            assert len(labels) == len(p) and p.sum() == pytest.approx(1.0) and (p >= 0).all()
            for how in information_demo.COMPARISONS:
                q = information_demo.compare_with(p, how)
                assert q.shape == p.shape and q.sum() == pytest.approx(1.0)
    p = information_demo.preset("loaded die")[1]
    assert info.kl_divergence(p, information_demo.compare_with(p, "missing p's least likely outcome")) == np.inf
    assert info.entropy(information_demo.preset("English letters")[1]) == pytest.approx(4.18, abs=0.01)  # Shannon's ~4.2 bits/letter
    with pytest.raises(LabError, match="unknown preset"):
        information_demo.preset("nope")
