"""Render 3D-looking turntable frame sequences of muscle-like shapes, as the atlas's renders are.

Sphere tracing of a signed distance field in numpy: a fusiform "muscle belly" with tendons at
both ends and surface bumps, lit with Lambert and Blinn-Phong shading, rendered at 2x and
downscaled so edges (and alpha) are antialiased like a real renderer's.

    python scripts/turntable.py OUT_DIR NAME --size 240 --frames 16 --background white|black|transparent

Used once to make `raw/images` (committed) and by `bench/` for the 800x800 benchmark set.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

BACKGROUNDS = {"white": (255, 255, 255, 255), "black": (0, 0, 0, 255), "transparent": (0, 0, 0, 0)}


def muscle_distance(points: np.ndarray, angle: float, shape: dict) -> np.ndarray:
    """Approximate signed distance to a spindle-shaped muscle turned by `angle` about y."""
    c, s = math.cos(angle), math.sin(angle)
    x = points[..., 0] * c - points[..., 2] * s
    z = points[..., 0] * s + points[..., 2] * c
    y = points[..., 1]
    bend = shape["bend"] * (1 - (y / shape["length"]) ** 2)
    x = x - bend
    t = np.clip(y / shape["length"], -1.0, 1.0)
    theta = np.arctan2(z, x)
    belly = shape["radius"] * np.maximum(1 - t * t, 0) ** 0.75 + 0.035
    ripple = 1 + shape["ripple"] * np.sin(shape["lobes"] * theta + 4 * t) * (1 - t * t)
    radial = np.sqrt(x * x + (z * shape["flat"]) ** 2)
    body = (radial - belly * ripple) * 0.6
    cap = np.abs(y) - shape["length"] - 0.05
    return np.maximum(body, cap)


def render_frame(size: int, angle: float, shape: dict, background: str) -> Image.Image:
    """One frame, `size` pixels square, RGBA."""
    scale = 2
    n = size * scale
    u = (np.arange(n) + 0.5) / n * 2 - 1
    px, py = np.meshgrid(u, -u)
    origin = np.stack([px * 1.25, py * 1.25, np.full_like(px, -3.0)], axis=-1)
    direction = np.array([0.0, 0.0, 1.0])
    depth = np.zeros(px.shape)
    hit = np.zeros(px.shape, bool)
    for _ in range(90):
        points = origin + depth[..., None] * direction
        dist = muscle_distance(points, angle, shape)
        hit |= dist < 1e-3
        depth = np.where(hit, depth, depth + np.maximum(dist, 2e-3))
        if np.all(hit | (depth > 6)):
            break
    points = origin + depth[..., None] * direction
    eps = 2e-3
    normal = np.stack([
        muscle_distance(points + d, angle, shape) - muscle_distance(points - d, angle, shape)
        for d in (np.array([eps, 0, 0]), np.array([0, eps, 0]), np.array([0, 0, eps]))
    ], axis=-1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True) + 1e-9
    light = np.array([-0.5, 0.7, -0.6])
    light /= np.linalg.norm(light)
    diffuse = np.clip(normal @ light, 0, 1)
    half = light - direction
    half /= np.linalg.norm(half)
    specular = np.clip(normal @ half, 0, 1) ** 40
    # tendons (the ends) are pale, the belly is red with fibre striations
    t = np.clip(np.abs(points[..., 1]) / shape["length"], 0, 1)
    tendon = np.clip((t - 0.72) / 0.15, 0, 1)[..., None]
    stria = 0.9 + 0.1 * np.sin(points[..., 1] * 60 + points[..., 0] * 8)[..., None]
    base = np.array(shape["colour"]) * stria * (1 - tendon) + np.array([0.93, 0.9, 0.82]) * tendon
    colour = base * (0.18 + 0.82 * diffuse[..., None]) + 0.35 * specular[..., None]
    rgb = np.clip(colour, 0, 1)
    alpha = hit.astype(float)
    bg = np.array(BACKGROUNDS[background][:3]) / 255.0
    if background == "transparent":
        premultiplied = rgb * alpha[..., None]
    else:
        premultiplied = rgb * alpha[..., None] + bg * (1 - alpha[..., None])
    # downscale 2x by box filter: antialiased edges, premultiplied so no dark halo
    small = premultiplied.reshape(size, scale, size, scale, 3).mean(axis=(1, 3))
    small_alpha = alpha.reshape(size, scale, size, scale).mean(axis=(1, 3))
    if background == "transparent":
        straight = np.where(small_alpha[..., None] > 0, small / np.maximum(small_alpha[..., None], 1e-6), 0)
        pixels = np.dstack([straight, small_alpha])
    else:
        pixels = np.dstack([small, np.ones_like(small_alpha)])
    return Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), "RGBA")


SHAPES = {
    "belly": dict(radius=0.42, length=0.95, bend=0.12, ripple=0.10, lobes=3, flat=1.3, colour=(0.72, 0.16, 0.14)),
    "strap": dict(radius=0.34, length=1.0, bend=0.18, ripple=0.16, lobes=2, flat=1.6, colour=(0.78, 0.24, 0.2)),
    "fan": dict(radius=0.55, length=0.8, bend=0.05, ripple=0.22, lobes=5, flat=1.0, colour=(0.66, 0.14, 0.16)),
}


def render_sequence(out_dir: Path, name: str, *, size: int, frames: int, background: str, shape: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for k in range(frames):
        image = render_frame(size, 2 * math.pi * k / frames, SHAPES[shape], background)
        if background != "transparent":
            image = image.convert("RGB")
        path = out_dir / f"{name}-{k + 1}.png"
        image.save(path, optimize=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--background", choices=sorted(BACKGROUNDS), default="white")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="belly")
    args = parser.parse_args()
    render_sequence(args.out_dir, args.name, size=args.size, frames=args.frames,
                    background=args.background, shape=args.shape)


if __name__ == "__main__":
    main()
