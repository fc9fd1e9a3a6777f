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


def _blur(plane: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable 'valid' convolution; small images are padded by reflection instead."""
    taps = len(weights)
    if min(plane.shape) < taps:
        pad = taps // 2
        plane = np.pad(plane, pad, mode="reflect" if min(plane.shape) > pad else "edge")
    rows = sum(w * plane[i:plane.shape[0] - taps + 1 + i] for i, w in enumerate(weights))
    return sum(w * rows[:, i:rows.shape[1] - taps + 1 + i] for i, w in enumerate(weights))


def ssim_plane(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two same-shaped 2-D arrays on the 0..255 scale."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    w = _window()
    mu_a, mu_b = _blur(a, w), _blur(b, w)
    var_a = _blur(a * a, w) - mu_a * mu_a
    var_b = _blur(b * b, w) - mu_b * mu_b
    cov = _blur(a * b, w) - mu_a * mu_b
    num = (2 * mu_a * mu_b + _C1) * (2 * cov + _C2)
    den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    return float(np.mean(num / den))


def _over(rgba: np.ndarray, level: float) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    return rgba[..., :3].astype(np.float64) * alpha + level * (1.0 - alpha)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two (h, w, 3|4) images (uint8 or float on 0..255), the mean over RGB channels.

    With alpha, both are composited over white and over black and the lower score is returned.
    """
    if a.shape != b.shape:
        raise ValueError(f"cannot compare images of shapes {a.shape} and {b.shape}")
    if a.shape[-1] == 4:
        return min(ssim(_over(a, level), _over(b, level)) for level in (255.0, 0.0))
    return float(np.mean([ssim_plane(a[..., c], b[..., c]) for c in range(a.shape[-1])]))
