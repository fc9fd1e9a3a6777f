"""SSIM (Wang et al. 2004, 11-tap Gaussian window, sigma 1.5) between two images, in numpy.

Used to decide whether a palette thumbnail is visually lossless, and by the benchmarks.
Images with alpha are compared as a viewer sees them: laid over white and over black, the
worse of the two counts.
"""
from __future__ import annotations

import numpy as np

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _window(sigma: float = 1.5, taps: int = 11) -> np.ndarray:
    x = np.arange(taps, dtype=np.float64) - taps // 2
    w = np.exp(-(x * x) / (2 * sigma * sigma))
    return w / w.sum()


def _blur(stack: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable 'valid' convolution over axes 1 and 2 (rows, columns) of (n, h, w, ...)
    planes at once; small images are padded by reflection instead."""
    taps = len(weights)
    height, width = stack.shape[1:3]
    if min(height, width) < taps:
        pad = taps // 2
        widths = [(0, 0), (pad, pad), (pad, pad)] + [(0, 0)] * (stack.ndim - 3)
        stack = np.pad(stack, widths, mode="reflect" if min(height, width) > pad else "edge")
        height, width = stack.shape[1:3]
    rows = _taps(weights, lambda i: stack[:, i:height - taps + 1 + i])
    return _taps(weights, lambda i: rows[:, :, i:width - taps + 1 + i])


def _taps(weights: np.ndarray, shifted) -> np.ndarray:
    """Sum of weights[i] * shifted(i), adding in place; the window is symmetric, so the taps
    at i and -i share one multiplication."""
    last = len(weights) - 1
    assert last % 2 == 0, "an odd number of taps, centred"
    total = shifted(last // 2) * weights[last // 2]
    for i in range(last // 2):
        total += (shifted(i) + shifted(last - i)) * weights[i]
    return total


def ssim_map(a: np.ndarray, b: np.ndarray, dtype=np.float64) -> np.ndarray:
    """The SSIM map of two same-shaped (h, w) or (h, w, c) arrays on the 0..255 scale,
    every plane blurred in one pass, computed in `dtype`."""
    dtype = np.dtype(dtype).type
    # centred on their mean: variances and covariance do not change, and E[x^2] - E[x]^2 no
    # longer subtracts two numbers near 255^2 (float32 lost 1e-4 of SSIM that way on flat white)
    centre = dtype((float(np.mean(a, dtype=np.float64)) + float(np.mean(b, dtype=np.float64))) / 2)
    a, b = a.astype(dtype) - centre, b.astype(dtype) - centre
    mu_a, mu_b, aa, bb, ab = _blur(np.stack([a, b, a * a, b * b, a * b]), _window().astype(dtype))
    var_a, var_b, cov = aa - mu_a * mu_a, bb - mu_b * mu_b, ab - mu_a * mu_b
    mu_a, mu_b = mu_a + centre, mu_b + centre
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    return num / den


def ssim_plane(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two same-shaped 2-D arrays on the 0..255 scale."""
    return float(np.mean(ssim_map(a, b)))


def _over(rgba: np.ndarray, level: float, dtype) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(dtype) / dtype(255.0)
    return rgba[..., :3].astype(dtype) * alpha + dtype(level) * (1 - alpha)


def ssim(a: np.ndarray, b: np.ndarray, dtype=np.float64) -> float:
    """SSIM of two (h, w, 3|4) images (uint8 or float on 0..255), the mean over RGB channels.

    With alpha, both are composited over white and over black and the lower score is returned.
    `dtype=np.float32` is three times as fast and, on 200 px renders, within 1e-6 of float64 (the
    worst of 216 palettes compared: 3e-7):
    good enough to rank or threshold, not to publish a figure.
    """
    if a.shape != b.shape:
        raise ValueError(f"cannot compare images of shapes {a.shape} and {b.shape}")
    dtype = np.dtype(dtype).type
    if a.shape[-1] == 4:
        return min(ssim(_over(a, level, dtype), _over(b, level, dtype), dtype) for level in (255.0, 0.0))
    return float(np.mean(ssim_map(a, b, dtype), dtype=np.float64))  # every channel's map has the same size


class SsimReference:
    """An image that others are scored against by `ssim`, its own blurred planes computed once:
    the thumbnails' palette search scores one to three palettes against each resize. Centred
    on this image's mean rather than both images' (see `ssim_map`): in float32 the score
    differs from `ssim`'s by a few 1e-9. Three planes are blurred per score in place of five:
    the palette PNGs of the bench's 48 thumbnails came out byte for byte the same, 1-2 ms a
    thumbnail sooner (5-9 %)."""

    def __init__(self, b: np.ndarray, dtype=np.float64):
        self.dtype = np.dtype(dtype).type
        self.shape = b.shape
        self._window = _window().astype(self.dtype)
        self._planes = [self._prepared(plane) for plane in self._composited(b)]

    def score(self, a: np.ndarray) -> float:
        """`ssim(a, b)` for the image `b` given, to within float rounding."""
        if a.shape != self.shape:
            raise ValueError(f"cannot compare images of shapes {a.shape} and {self.shape}")
        return min(self._score(plane, prepared) for plane, prepared in zip(self._composited(a), self._planes))

    def _composited(self, image: np.ndarray) -> list[np.ndarray]:
        """RGB, or RGBA laid over white and over black (the worse counts, as in `ssim`)."""
        if image.shape[-1] == 4:
            return [_over(image, level, self.dtype) for level in (255.0, 0.0)]
        return [image.astype(self.dtype)]

    def _prepared(self, b: np.ndarray) -> tuple:
        centre = self.dtype(float(np.mean(b, dtype=np.float64)))
        b = b - centre
        mu_b, bb = _blur(np.stack([b, b * b]), self._window)
        return centre, b, mu_b, bb - mu_b * mu_b

    def _score(self, a: np.ndarray, prepared: tuple) -> float:
        centre, b, mu_b, var_b = prepared
        a = a - centre
        mu_a, aa, ab = _blur(np.stack([a, a * a, a * b]), self._window)
        var_a, cov = aa - mu_a * mu_a, ab - mu_a * mu_b
        mu_a, mu_b = mu_a + centre, mu_b + centre
        num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
        den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
        return float(np.mean(num / den, dtype=np.float64))
