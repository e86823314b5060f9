"""Small greyscale images (8×8 digits, a unit's weights) drawn large with crisp square pixels.

A browser scales a tiny image smoothly, so an 8×8 digit would turn into a blur: blow it up
first, each pixel a block of `scale` × `scale`.

>>> pixels(np.array([[0.0, 1.0]]), scale=2).tolist()
[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]]
"""

import numpy as np


def pixels(image: np.ndarray, shape: tuple[int, int] | None = None, scale: int = 9) -> np.ndarray:
    """`image` (reshaped to `shape` first, e.g. a flat row of 64 pixels to (8, 8)) with each pixel repeated scale × scale."""
    img = np.asarray(image)
    return np.kron(img.reshape(shape) if shape else img, np.ones((scale, scale)))
