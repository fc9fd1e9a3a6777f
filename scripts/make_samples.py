"""Re-render the sample frames committed under `raw/images` (run once; the PNGs are committed).

    python scripts/make_samples.py
"""
from pathlib import Path

from turntable import render_sequence

RAW_FRAMES = Path(__file__).resolve().parent.parent / "raw" / "images" / "muscles" / "png"
SAMPLES = (
    # name, shape, background: one sequence keeps an alpha channel, as some exports do
    ("Leg-Soleus", "belly", "white"),
    ("Arm-BicepsBrachii", "strap", "transparent"),
    ("Thigh", "fan", "black"),
)

if __name__ == "__main__":
    for name, shape, background in SAMPLES:
        render_sequence(RAW_FRAMES, name, size=240, frames=16, background=background, shape=shape)
