"""The one figure style of the report, applied by ``lib.report.start`` before a notebook draws anything."""
from __future__ import annotations

import seaborn as sns

PALETTE = "colorblind"


def apply() -> None:
    """Seaborn's white grid, notebook scale, colour-blind palette; figures saved tight at 110 dpi."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE,
                  rc={"figure.dpi": 110, "savefig.bbox": "tight"})


def colours(n: int) -> list:
    """``n`` distinguishable colours of the report's palette."""
    return sns.color_palette(PALETTE, n)
