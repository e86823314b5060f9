"""Functions whose calls a test counts, to see what ui.state's caches keep (tests/app/test_robustness.py)."""

import numpy as np

CALLS: list[tuple[str, int]] = []
PAGE_OBJECT = None  # a weak reference, set by tests/app/forget_probe_page.py


def zeros(n: int) -> np.ndarray:
    CALLS.append(("zeros", n))
    return np.zeros(n)


def ones(n: int) -> np.ndarray:
    CALLS.append(("ones", n))
    return np.ones(n)
