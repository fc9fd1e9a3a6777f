"""SSIM against a direct, loop-by-loop reading of Wang et al.'s definition."""
import numpy as np
import pytest

from pipeline.ssim import SsimReference, ssim, ssim_plane

C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def reference_ssim_plane(a, b):
    """Mean SSIM over every full 11 x 11 Gaussian window (sigma 1.5), window by window."""
    x = np.arange(11) - 5
    g = np.exp(-(x * x) / (2 * 1.5 ** 2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    a, b = a.astype(np.float64), b.astype(np.float64)
    scores = []
    for top in range(a.shape[0] - 10):
        for left in range(a.shape[1] - 10):
            pa, pb = a[top:top + 11, left:left + 11], b[top:top + 11, left:left + 11]
            mu_a, mu_b = (window * pa).sum(), (window * pb).sum()
            var_a = (window * (pa - mu_a) ** 2).sum()
            var_b = (window * (pb - mu_b) ** 2).sum()
            cov = (window * (pa - mu_a) * (pb - mu_b)).sum()
            scores.append((2 * mu_a * mu_b + C1) * (2 * cov + C2)
                          / ((mu_a ** 2 + mu_b ** 2 + C1) * (var_a + var_b + C2)))
    return float(np.mean(scores))


@pytest.fixture
def pair():
    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, (24, 31, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_one_plane_matches_the_definition(pair):
    a, b = pair
    assert ssim_plane(a[..., 0], b[..., 0]) == pytest.approx(reference_ssim_plane(a[..., 0], b[..., 0]), abs=1e-12)


def test_colour_is_the_mean_of_its_channels(pair):
    a, b = pair
    expected = np.mean([reference_ssim_plane(a[..., c], b[..., c]) for c in range(3)])
    assert ssim(a, b) == pytest.approx(expected, abs=1e-12)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, b) < 0.99


def test_alpha_counts_the_worse_of_white_and_black():
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[4:14, 4:14, :3] = 250  # an opaque image: a small light square on black
    clear = rgba.copy()
    clear[..., 3] = 0  # the same colours, fully transparent: the background shows through
    square = rgba[..., :3].astype(float)
    over_white = ssim(square, np.full((48, 48, 3), 255.0))
    over_black = ssim(square, np.zeros((48, 48, 3)))
    assert over_white < 0.1 < 0.5 < over_black  # mostly black: far from white, close to black
    assert ssim(rgba, clear) == pytest.approx(over_white)


def test_images_smaller_than_the_window_are_padded_not_refused():
    a = np.full((6, 4, 3), 100, np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    assert ssim(a, a + 30) < 1.0


def test_different_shapes_are_refused():
    with pytest.raises(ValueError, match="shapes"):
        ssim(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)))


def test_float32_agrees_with_float64_on_flat_bright_images():
    """Near-white flat areas are where E[x^2] - E[x]^2 loses float32's precision."""
    rng = np.random.default_rng(3)
    a = np.full((64, 64, 3), 250.0) + rng.integers(-1, 2, (64, 64, 3))
    b = np.full((64, 64, 3), 250.0) + rng.integers(-1, 2, (64, 64, 3))
    assert abs(ssim(a, b, np.float32) - ssim(a, b)) < 1e-6
    rgba = np.dstack([a, np.full((64, 64), 200.0)])
    assert ssim(rgba, rgba, np.dtype("float32")) == pytest.approx(1.0)  # a dtype, not only a type


def test_a_reference_scores_as_ssim_does(pair):
    a, b = pair
    assert SsimReference(b).score(a) == pytest.approx(ssim(a, b), abs=1e-12)
    rng = np.random.default_rng(5)
    alpha = rng.integers(0, 256, a.shape[:2] + (1,)).astype(np.uint8)
    rgba_a, rgba_b = np.dstack([a, alpha]), np.dstack([b, alpha])
    scorer = SsimReference(rgba_b, np.float32)
    for other in (rgba_a, rgba_b):  # one reference, several images scored against it
        assert abs(scorer.score(other) - ssim(other, rgba_b)) < 1e-6
    flat_a = np.full((64, 64, 3), 250.0) + rng.integers(-1, 2, (64, 64, 3))
    flat_b = np.full((64, 64, 3), 250.0) + rng.integers(-1, 2, (64, 64, 3))
    assert abs(SsimReference(flat_b, np.float32).score(flat_a) - ssim(flat_a, flat_b)) < 1e-6
    small = np.full((6, 4, 3), 100, np.uint8)
    assert SsimReference(small).score(small) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes"):
        SsimReference(b).score(a[:, :-1])
