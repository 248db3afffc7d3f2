"""The embedded toy kitchen: a procedurally generated world in EPIC-KITCHENS-100's exact formats.

``generate_world(out_dir, WorldConfig(...))`` writes annotation CSVs, H.264 videos in the
official layout, first-person scene descriptions and a manifest, so that every loader, builder,
trainer and scorer of the workflow runs on it unchanged, offline, on a CPU.
"""

from actionmqa.toyworld.config import WorldConfig
from actionmqa.toyworld.generate import WorldManifest, generate_world

__all__ = ["WorldConfig", "WorldManifest", "generate_world"]
