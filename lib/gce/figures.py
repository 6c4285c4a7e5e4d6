"""The figures of the GCE claim notebooks. Colours come from the report's palette (``lib.report.style``);
the style itself is applied by ``lib.report.start``."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from lib.report.style import colours

from .estimators import QUANTITIES, samples
from .evaluation import OFFSETS, factor_names, latent_sweep, rows_per_class
from .method import SAMPLERS
from .reference import TOY_REFERENCE_RMSE
from .select import TuningRun, choose_lambda

CURVES = ("causal", "sse", "kl", "beta_flow")


def sweep_figure(images, decisions, offsets, class_names, title: str = "", tile: float = 0.9,
                 label_every: int = 1):
    """Grid of sweep images (rows x offsets), each framed in the colour of the classifier's decision."""
    images = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    decisions = np.asarray(decisions.detach().cpu() if hasattr(decisions, "detach") else decisions)
    rows, cols = decisions.shape
    palette = colours(len(class_names))
    fig, axes = plt.subplots(rows, cols, figsize=(tile * cols, tile * rows + 0.6), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(palette[decisions[r, c]])
                spine.set_linewidth(3 * min(1.0, tile / 0.9) + 0.5)
            if r == rows - 1 and c % label_every == 0:
                ax.set_xlabel(f"{offsets[c]:+.1f}", fontsize=8)
    handles = [plt.Line2D([], [], color=palette[i], lw=4, label=name) for i, name in enumerate(class_names)]
    fig.legend(handles=handles, loc="upper right", ncol=len(class_names), fontsize=8, frameon=False)
    fig.suptitle(title, x=0.02, ha="left", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def latent_sweeps(explainer, classifier, data, dims, offsets=OFFSETS, per_class: int = 3,
                  title: str = "sweep of {factor}", **layout) -> list:
    """One ``sweep_figure`` per latent in ``dims``: the first ``per_class`` validation images of each class,
    encoded, with the latent shifted by each offset. ``title`` may name the latent as ``{factor}``."""
    names = factor_names(explainer.k, explainer.l)
    x = data.val[0][rows_per_class(data.val[1], per_class)]
    return [sweep_figure(*latent_sweep(explainer, classifier, x, dim, offsets), offsets, data.class_names,
                         title=title.format(factor=names[dim]), **layout) for dim in dims]


def _smooth(curve, width: int) -> np.ndarray:
    """Moving average over ``width`` steps (at most a fifth of the curve)."""
    curve = np.asarray(curve, dtype=float)
    width = max(1, min(width, len(curve) // 5))
    return np.convolve(curve, np.ones(width) / width, mode="valid")


def training_curves(curves, hue: str = "seed", smooth: int = 50):
    """The causal term, the data term D = SSE + KL and, where a run penalised it, the β flow, per training
    step and moving-average smoothed: one line per run, coloured by ``hue`` (dotted: seeds after the first)."""
    curves = curves.assign(D=curves["sse"] + curves["kl"])
    penalised = "beta_flow" in curves and curves["beta_flow"].notna().any()
    panels = {"causal": ("causal term I(α; Ŷ) [nats]", "linear"), "D": ("data term D = SSE + KL per sample", "log")}
    if penalised:
        panels["beta_flow"] = ("penalised term I(β; Ŷ) [nats]", "linear")
    keys = [c for c in curves.columns if c not in (*CURVES, "D", "step")]
    levels = list(dict.fromkeys(curves[hue]))
    palette = dict(zip(levels, colours(len(levels))))
    first_seed = curves["seed"].iloc[0]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 + 3.5 * len(panels), 3.2))
    for key, run in curves.groupby(keys, sort=False):
        run_key = dict(zip(keys, key))
        first = run_key["seed"] == first_seed
        label = f"seed {run_key[hue]}" if hue == "seed" else f"{hue} = {run_key[hue]}" if first else None
        style = dict(color=palette[run_key[hue]], lw=1.2, ls="-" if first or hue == "seed" else ":", label=label)
        for ax, column in zip(axes, panels):
            if run[column].notna().all():
                ax.plot(_smooth(run[column], smooth), **style)
    for ax, (title, scale) in zip(axes, panels.values()):
        ax.set(title=title, xlabel="step", yscale=scale)
    axes[0].legend(fontsize=8)
    if hue != "seed":
        fig.suptitle("training curves, moving average (first seed solid, others dotted)", x=0.01, ha="left",
                     fontsize=10)
    fig.tight_layout()
    return fig


def _per_factor(table, quantity: str):
    """The factor names and the (runs, factors) values of the columns ``"<quantity> <factor>"``."""
    columns = [c for c in table.columns if c.startswith(f"{quantity} ")]
    return [c.removeprefix(f"{quantity} ") for c in columns], table[columns].to_numpy(dtype=float)


def factor_bars(table, quantity: str, ylabel: str, reference=None, ref_label: str = "paper"):
    """Bars of a per-factor quantity (the columns ``"<quantity> α1"`` …): mean over the runs with sd error
    bars, each run as a dot, and optional reference marks (one value per factor, or None)."""
    names, values = _per_factor(table, quantity)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(x), 3.2))
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else None
    ax.bar(x, values.mean(axis=0), yerr=sd, capsize=3, color=colours(1)[0], alpha=0.8)
    for row in values:
        ax.scatter(x, row, color="black", s=10, zorder=3)
    if reference is not None:
        ref = np.array([np.nan if r is None else r for r in reference], dtype=float)
        ax.scatter(x, ref, marker="_", s=400, color="crimson", zorder=4, label=ref_label)
        ax.legend(fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def factor_bars_by(table, quantity: str, by: str, ylabel: str):
    """Grouped bars of a per-factor quantity, one colour per value of ``by`` (mean over seeds, seeds as dots),
    on a symmetric log scale (flows near zero and near ln M side by side)."""
    names, _ = _per_factor(table, quantity)
    groups = list(dict.fromkeys(table[by]))
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(names), 3.2))
    width = 0.8 / len(groups)
    for j, (group, colour) in enumerate(zip(groups, colours(len(groups)))):
        _, values = _per_factor(table[table[by] == group], quantity)
        x = np.arange(len(names)) + (j - (len(groups) - 1) / 2) * width
        ax.bar(x, values.mean(0), width, color=colour, label=f"{by} = {group}")
        for row in values:
            ax.scatter(x, row, color="black", s=6, zorder=3)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel(ylabel)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def against(table, variant: str, columns):
    """One panel per column of ``table`` against ``variant``: each seed in grey, the mean over seeds in black."""
    levels = list(dict.fromkeys(table[variant]))
    positions = np.arange(len(levels))
    means = table.groupby(variant)[list(columns)].mean().loc[levels]
    fig, axes = plt.subplots(1, len(columns), figsize=(2.6 * len(columns), 3.0))
    for ax, column in zip(axes, columns):
        for _, seed in table.groupby("seed"):
            ax.plot(positions, seed.set_index(variant).loc[levels, column], "o-", color="grey", lw=0.8, ms=3)
        ax.plot(positions, means[column], "s-", color="black", lw=1.6)
        ax.set_xticks(positions, [f"{g:g}" for g in levels])
        ax.set(xlabel=variant, title=column)
        ax.title.set_fontsize(9)
    fig.suptitle(f"each seed (grey) and the mean (black) against {variant} (flows in nats)", x=0.01, ha="left",
                 fontsize=10)
    fig.tight_layout()
    return fig


def measures_by(table, by: str, measures, limits: dict):
    """One bar panel per measure, bars per value of ``by`` (mean over seeds, sd error bars), dashed lines at
    ``limits`` (measure -> a verdict's threshold)."""
    long = table.melt(id_vars=[by, "seed"], value_vars=list(measures), var_name="measure")
    grid = sns.catplot(long, x=by, y="value", col="measure", col_wrap=4, kind="bar", errorbar="sd", sharey=False,
                       height=2.6, aspect=1.2, color=colours(1)[0])
    grid.set_xticklabels(rotation=40, ha="right")
    for measure, ax in grid.axes_dict.items():
        if measure in limits:
            ax.axhline(limits[measure], ls="--", color="k", lw=0.8)
    return grid.figure


def cost_ratios(cost):
    """GCE training time relative to a plain VAE per data set, ours and seed 000's, on a log scale."""
    ax = cost[["GCE / VAE", "seed 000 GCE / VAE"]].plot.bar(logy=True, figsize=(6, 3), rot=0,
                                                           color=colours(2))
    ax.set_ylabel("time ratio (log scale)")
    ax.set_title("GCE training time relative to a plain VAE")
    return ax.figure


# Algorithm 1 and the QMC study

RING = dict(s=160, facecolors="none", edgecolors="crimson", linewidths=2, zorder=4)


def tuning_figure(run: TuningRun, paper: dict | None = None):
    """Four panels: step 1's D vs K + L, C vs K (every trained K at the λ the approach rule picks for it),
    and D and C vs λ for each K; D vs λ shades the band within the approach threshold of the target.

    Ours are solid lines (the choices ringed); the paper's curves (a ``PAPER_CURVES`` entry) are dashed grey
    on the same axes.
    """
    table, selection, lams = run.table, run.selection, run.lams
    ours = colours(max(1, len(run.k_values)))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    totals = sorted(key[1] for key in table.table if key[0] == 0)
    d1 = {d: table(0, d, 0.0)[1] for d in totals}
    ax = axes[0, 0]
    ax.plot(totals, list(d1.values()), "o-", color=ours[0], label="ours (plain VAE, K = 0)")
    ax.scatter([selection.step1_total], [d1[selection.step1_total]], label="step 1 choice", **RING)
    if paper:
        ax.plot(paper["total_dims"], paper["D_total"], "s--", color="grey", label="paper")
    ax.set(title="step 1: D vs K + L", xlabel="K + L", ylabel="D = SSE + KL per sample")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    step2 = [choose_lambda(table, k, selection.total - k, lams, selection.D1, run.xi) for k in run.k_values]
    ks = [s["k"] for s in step2]
    ax.plot(ks, [s["C"] for s in step2], "o-", color=ours[0], label=f"ours (K + L = {selection.total})")
    ax.scatter([selection.k], [next(s["C"] for s in selection.step2 if s["k"] == selection.k)],
               label="choice", **RING)
    if paper:
        ax.plot(paper["k_values"], paper["C_k"], "s--", color="grey", label="paper")
    ax.set(title="step 2: C vs K (each K at its chosen λ)", xlabel="K", ylabel="C = I(α; Ŷ) [nats]",
           xticks=sorted(set(ks) | set(paper["k_values"] if paper else [])))
    ax.legend(fontsize=8)

    for ax, column, name in ((axes[1, 0], 1, "D"), (axes[1, 1], 0, "C [nats]")):
        for k, colour in zip(run.k_values, ours):
            l = selection.total - k
            ax.plot(lams, [table(k, l, lam)[column] for lam in lams], "o-", color=colour,
                    label=f"ours K = {k}, L = {l}")
        if paper:
            ax.plot(paper["lams"], paper["D_lam" if column else "C_lam"], "s--", color="grey", label="paper")
        ax.set(title=f"step 2: {name.split()[0]} vs λ", xlabel="λ", xscale="log", ylabel=name)
    ax = axes[1, 0]
    ax.axhline(selection.D1, color="black", lw=1, label="step-1 D at this K + L")
    ax.axhspan(selection.D1, selection.D1 * (1 + run.xi), color="black", alpha=0.08)
    chosen = next(s for s in selection.step2 if s["k"] == selection.k)
    ax.scatter([chosen["lam"]], [chosen["D"]], label="choice", **RING)
    for ax in axes[1]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def estimator_error_figure(toy, rmse):
    """RMSE against the number of samples per estimate for each sampler: on the toy case (``toy_study``,
    with the reference notes' values; the mean over the toy study's seeds) and on the trained explainers
    (``rmse_by_seed``, one line per seed)."""
    toy = toy.groupby(["sampler", "samples"], as_index=False)["RMSE"].mean()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    palette = dict(zip(SAMPLERS, colours(len(SAMPLERS))))
    seeds = list(dict.fromkeys(rmse["seed"]))
    for sampler in SAMPLERS:
        part = toy[toy.sampler == sampler]
        axes[0].plot(part["samples"], part["RMSE"], "o-", color=palette[sampler], label=sampler)
        for ax, quantity in zip(axes[1:], QUANTITIES):
            part = rmse[(rmse.quantity == quantity) & (rmse.sampler == sampler)]
            for seed in seeds:
                one = part[part.seed == seed]
                ax.plot(one["samples"], one["RMSE"], "o-", color=palette[sampler], lw=1, alpha=0.8,
                        label=sampler if seed == seeds[0] else None)
    notes = [(samples(budget), value) for budget, values in TOY_REFERENCE_RMSE.items() for value in values.values()]
    axes[0].scatter(*zip(*notes), marker="x", color="crimson", zorder=4, label="reference notes")
    axes[0].set_title("toy case: I(α; Ŷ)")
    for ax, quantity in zip(axes[1:], QUANTITIES):
        ax.set_title(f"trained GCEs: {quantity} (one line per seed)")
    for ax in axes:
        ax.set(xscale="log", yscale="log", xlabel="samples per estimate, Nα × Nβ", ylabel="RMSE [nats]")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig

