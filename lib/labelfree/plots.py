"""Figures of the Label-Free XAI notebooks (the claim-1 and claim-2 curves)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns


def metric_curves(frame, y: str, ylabel: str, title: str, hue: str = "method", x: str = "fraction"):
    """Mean of ``y`` against the fraction (in %), one line per ``hue`` value, band = ±1 sd over the rows
    (test batches × seeds for latent shifts, seeds for similarity rates)."""
    frame = frame.assign(percent=100 * frame[x])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    sns.lineplot(data=frame, x="percent", y=y, hue=hue, style=hue, markers=True, dashes=False,
                 errorbar="sd", palette="colorblind", ax=ax)
    ax.set(xlabel="% of features masked" if y == "shift" else "% of training examples selected",
           ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
