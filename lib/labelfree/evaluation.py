"""How the Label-Free XAI claims are measured: the latent shift (claim 1), the similarity rate (claim 2),
correlations between saliency maps (claims 3 and 4), and the per-seed quantities each verdict judges.

The verdict quantities are computed exactly as the claim notebooks did before they moved here (the same
pandas and NumPy operations in the same order), so the smoke regression baselines stay comparable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

IG, GS, GS_ORIGINAL, SALIENCY, RANDOM = ("Integrated Gradients", "GradientShap", "GradientShap (original pairing)",
                                         "Saliency", "Random")
REPRESENTATION_BASED, LOSS_BASED = ["DKNN", "SimplEx"], ["Influence Functions", "TracIn"]


# ----------------------------------------------------------------------------- claim 1: latent shift

@torch.no_grad()
def inverted(x: torch.Tensor) -> torch.Tensor:
    """(1 − x_i) / max x per example (the max over each example's features): seed 003's soft mask and its
    eq. 3 baseline."""
    return (1 - x) / x.flatten(1).amax(1).clamp_min(1e-12).reshape((-1,) + (1,) * (x.dim() - 1))


def latent_shift(encoder: nn.Module, inputs: torch.Tensor, scores: torch.Tensor, fractions, baseline: torch.Tensor,
                 channel_dim: int = 1, soft: bool = False) -> torch.Tensor:
    """‖f(x) − f(m ⊙ x + (1 − m) ⊙ x̄)‖² per example (rows: fractions, columns: examples).

    For each fraction, the mask m hides that share of the features with the largest |score| summed
    over the channel dimension (all channels of a pixel or time step at once): m = 0 there, so hidden
    features take the baseline x̄'s values (broadcast against ``inputs``). With ``soft`` (seed 003's
    App. B.2) a hidden feature keeps m_i = (1 − x_i) / max x of itself instead (max over the example).
    """
    if scores.shape != inputs.shape:
        raise ValueError(f"scores of shape {tuple(scores.shape)} must have the inputs' shape {tuple(inputs.shape)}")
    per_feature = scores.abs().sum(channel_dim, keepdim=True)          # channel dimension kept as size 1
    flat = per_feature.flatten(1)
    order = flat.argsort(dim=1, descending=True)
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    original = encoder(inputs).flatten(1)
    fill = baseline
    if soft:
        keep = inverted(inputs)
        fill = keep * inputs + (1 - keep) * baseline
    shifts = []
    for fraction in fractions:
        hidden = (rank < int(fraction * flat.shape[1])).reshape(per_feature.shape)
        masked = torch.where(hidden, fill, inputs)
        shifts.append((encoder(masked).flatten(1) - original).square().sum(1))
    return torch.stack(shifts)


def _per_seed_shift(curves: pd.DataFrame) -> pd.Series:
    """Mean latent shift over test batches, indexed by (data, method, fraction, seed)."""
    return curves.groupby(["data", "method", "fraction", "seed"])["shift"].mean()


def by_fraction(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Mean of ``value`` over seeds (of its mean over test batches, where there are several) per data set and
    method, one column per fraction (in %)."""
    per_seed = frame.groupby(["data", "method", "fraction", "seed"])[value].mean()
    table = per_seed.groupby(["data", "method", "fraction"]).mean().unstack("fraction")
    table.columns = [f"{100 * f:g} %" for f in table.columns]
    return table


def pairing_ablation(curves: pd.DataFrame, fractions) -> pd.DataFrame:
    """GradientShap's latent shift with the correct and the original pairing at M ≤ 20 %, and their ratio."""
    small = [f for f in fractions if f <= 0.2]
    ablation = (_per_seed_shift(curves).unstack("method")[[GS, GS_ORIGINAL]]
                .query("fraction in @small").groupby(["data", "fraction"]).mean())
    ablation["correct / original"] = ablation[GS] / ablation[GS_ORIGINAL]
    return ablation


def feature_checks(curves: pd.DataFrame, training: pd.DataFrame, fractions) -> pd.DataFrame:
    """Claim 1's verdict quantities, one row per data set (in order of appearance) and seed.

    Columns: ``beats random`` (the smallest ratio, over IG, GradientShap and Saliency and M = 5 % and 10 %,
    of the method's shift to the random ranking's), ``IG best`` (IG's mean shift over M ≤ 20 % / the best
    other method's), ``IG reached`` (IG's shift at M = 20 % / its largest), then the regression-tracked
    ``best validation loss`` of the autoencoder and ``latent shift of <method> at M = 10 %``.
    """
    per_seed = _per_seed_shift(curves)
    small = [f for f in fractions if f <= 0.2]
    frames = {}
    for name in curves["data"].unique():
        s = per_seed.loc[name].unstack("method")            # rows (fraction, seed), columns methods
        early = s.loc[[0.05, 0.1]]
        low = s.loc[small].groupby("seed").mean()
        ig = s[IG].unstack("fraction")
        loss = training[training["data"] == name].set_index("seed")["best validation loss"]
        frames[name] = pd.DataFrame({
            "beats random": early[[IG, GS, SALIENCY]].div(early[RANDOM], axis=0).groupby("seed").min().min(axis=1),
            "IG best": low[IG] / low[[GS, SALIENCY]].max(axis=1),
            "IG reached": ig[0.2] / ig.max(axis=1),
            "best validation loss": loss,
            **{f"latent shift of {method} at M = 10 %": s.loc[0.1, method] for method in s.columns}})
    return pd.concat(frames, names=["data"]).reset_index()


def mask_variant_checks(curves: pd.DataFrame, training: pd.DataFrame, fractions) -> pd.DataFrame:
    """``feature_checks`` per masking variant (column ``variant`` of ``curves``, one data set), with the
    ``variant`` column in place of ``data``."""
    name, = training["data"].unique()
    frames = [feature_checks(c.assign(data=name), training, fractions).drop(columns="data").assign(variant=variant)
              for variant, c in curves.groupby("variant", sort=False)]
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- claim 2: similarity rate

def similarity_rate(scores: torch.Tensor, train_labels: torch.Tensor, test_labels: torch.Tensor,
                    fractions) -> torch.Tensor:
    """For each fraction, the mean over test examples of the share of its top-M training examples (by
    score, M = fraction × N) that carry the test example's label. Returns one value per fraction."""
    if scores.shape != (len(test_labels), len(train_labels)):
        raise ValueError(f"scores {tuple(scores.shape)} do not match {len(test_labels)} test and "
                         f"{len(train_labels)} training labels")
    order = scores.argsort(dim=1, descending=True)
    same = (train_labels[order] == test_labels[:, None]).float()                   # (M, N) in rank order
    counts = [max(1, int(round(f * len(train_labels)))) for f in fractions]
    return torch.stack([same[:, :k].mean() for k in counts])


def example_checks(rates: pd.DataFrame, fractions) -> pd.DataFrame:
    """Claim 2's verdict quantities, one row per data set (in order of appearance) and seed: ``gap`` (at the
    smallest M, the worse of DKNN and SimplEx minus the better of Influence Functions and TracIn), ``drop``
    (the smallest fall of a method's similarity rate from the smallest M to the largest) and ``rise`` (the
    largest rise of a method's rate from one M to the next: positive where a curve goes up anywhere)."""
    frames = {}
    for name in rates["data"].unique():
        wide = rates[rates.data == name].pivot_table(index=["seed", "fraction"], columns="method", values="similarity")
        first, last = wide.xs(fractions[0], level="fraction"), wide.xs(fractions[-1], level="fraction")
        four = LOSS_BASED + REPRESENTATION_BASED
        steps = wide[four].unstack("fraction").T.groupby(level="method").diff()  # rows (method, fraction)
        frames[name] = pd.DataFrame({
            "gap": first[REPRESENTATION_BASED].min(axis=1) - first[LOSS_BASED].max(axis=1),
            "drop": (first[four] - last[four]).min(axis=1),
            "rise": steps.max()})
    return pd.concat(frames, names=["data"]).reset_index()


# ----------------------------------------------------------------------------- claims 3 and 4: correlations

def offdiagonal_pcc(saliency) -> float:
    """Mean off-diagonal Pearson correlation between the units' saliency maps (N, d, H, W).

    Each unit's maps over all examples form one vector, as in the public code's ``pearson_saliency``;
    units whose maps are constant have no correlation and are left out of the mean.
    """
    saliency = torch.as_tensor(saliency, dtype=torch.float64)
    d = saliency.shape[1]
    corr = torch.corrcoef(saliency.transpose(0, 1).reshape(d, -1))
    off = corr[~torch.eye(d, dtype=torch.bool)]
    return float(off[torch.isfinite(off)].mean()) if torch.isfinite(off).any() else float("nan")


def unit_kl(model, x, batch_size: int = 1000) -> np.ndarray:
    """Mean over ``x`` of each unit's KL(q(z_j|x) || N(0, 1)) in nats: near 0 for a collapsed unit."""
    with torch.no_grad():
        kl = torch.cat([0.5 * (mu.pow(2) + lv.exp() - 1 - lv) for mu, lv in
                        (model.encoder(b.float()) for b in torch.split(x, batch_size))]).mean(0)
    return kl.cpu().numpy()


def sweep_readiness(table: pd.DataFrame) -> pd.DataFrame:
    """Per seed, over the VAEs of one set of a ``beta_sweep`` table, claim 3's preconditions: the ``worst
    reconstruction loss / the mean training image's``, the ``fewest active latent units`` and the ``largest
    relative fall of the training loss over its last tenth``."""
    by_seed = table.groupby("seed")
    return pd.DataFrame({"worst reconstruction loss / the mean training image's": by_seed["rec_ratio"].max(),
                         "fewest active latent units": by_seed["active"].min(),
                         "largest relative fall of the training loss over its last tenth": by_seed["loss_fall"].max()})


def pcc_fall(table: pd.DataFrame, low: float, high: float) -> pd.Series:
    """PCC at β = ``low`` minus PCC at β = ``high``, a Series indexed by (kind, seed); positive: PCC falls."""
    wide = table.pivot_table(index=["kind", "seed"], columns="beta", values="pcc")
    return (wide[low] - wide[high])


def pcc_matrix(arrays) -> np.ndarray:
    """Pearson correlation between each pair of arrays, each flattened into one vector (float64)."""
    return np.corrcoef(np.stack([np.asarray(a.detach().cpu() if hasattr(a, "detach") else a,
                                            dtype=np.float64).ravel() for a in arrays]))


def pair_values(matrices: list[np.ndarray], tasks) -> dict[str, list[float]]:
    """{"R-D": [per-run values], ...} for every pair of tasks (lower triangle, in the order of ``tasks``)."""
    return {f"{a}-{b}": [float(m[i, j]) for m in matrices]
            for i, a in enumerate(tasks) for j, b in enumerate(tasks) if i < j}


def pairs_of(pccs: pd.DataFrame, variant: str) -> dict[str, list[float]]:
    """``pair_values`` read back from the tidy PCC table: {pair: [value per seed]} of one variant."""
    part = pccs[pccs["variant"] == variant]
    return {pair: group["pcc"].tolist() for pair, group in part.groupby("pair", sort=False)}


def pair_contrast(pairs: dict, first, second):
    """Mean over the ``first`` pairs minus mean over the ``second`` pairs (per seed, for lists of values)."""
    return np.mean([pairs[p] for p in first], 0) - np.mean([pairs[p] for p in second], 0)


def pretext_checks(pccs: pd.DataFrame, table4: dict) -> pd.DataFrame:
    """Claim 4's verdict quantities per seed (rows) from the tidy PCC table and seed 003's Table 4
    ({"saliency" | "examples": {pair: (mean, sd)}}).

    Columns, for ``<variant>`` saliency and examples: ``<variant> mean`` (mean PCC over the six task
    pairs), ``<variant> gap`` (mean |ours − Table 4| over pairs), then ``saliency: C − RDI`` (mean saliency
    PCC of pairs with C minus that among R, D, I) and ``examples: RDI − C`` (the reverse, for examples).
    """
    pairs = {variant: pairs_of(pccs, variant) for variant in ("saliency", "examples")}
    with_c = [p for p in pairs["saliency"] if "C" in p]
    without_c = [p for p in pairs["saliency"] if "C" not in p]
    columns = {}
    for variant, values in pairs.items():
        ref = table4[variant]
        columns[f"{variant} mean"] = np.mean(list(values.values()), axis=0)
        columns[f"{variant} gap"] = np.mean([np.abs(np.array(values[k]) - ref[k][0]) for k in ref], axis=0)
    columns["saliency: C − RDI"] = pair_contrast(pairs["saliency"], with_c, without_c)
    columns["examples: RDI − C"] = pair_contrast(pairs["examples"], without_c, with_c)
    return pd.DataFrame(columns, index=pd.Index(pccs["seed"].unique(), name="seed"))


def pretext_readiness(training: pd.DataFrame) -> pd.DataFrame:
    """Per seed, from ``pretext_correlations``' training summary: the worst ``best validation loss / the
    mean training image's`` of the autoencoders and the classifier's ``test accuracy`` (claim 4's
    preconditions)."""
    by_seed = training.groupby("seed")
    return pd.DataFrame({"worst best validation loss / the mean training image's":
                         by_seed["best validation loss / the mean training image's"].max(),
                         "test accuracy": by_seed["test accuracy"].max()})


def table4_contrasts(table4: dict) -> dict[str, float]:
    """``pretext_checks``' two contrasts computed on seed 003's Table 4 means."""
    means = {variant: {p: v[0] for p, v in table4[variant].items()} for variant in ("saliency", "examples")}
    with_c = [p for p in means["saliency"] if "C" in p]
    without_c = [p for p in means["saliency"] if "C" not in p]
    return {"saliency: C − RDI": round(float(pair_contrast(means["saliency"], with_c, without_c)), 3),
            "examples: RDI − C": round(float(pair_contrast(means["examples"], without_c, with_c)), 3)}


def table4_comparison(pccs: pd.DataFrame, table4: dict) -> pd.DataFrame:
    """Our PCC per variant and task pair (mean ± sd over seeds) beside seed 003's Table 4."""
    rows = []
    for variant in pccs["variant"].unique():
        ref = table4["saliency" if variant == "saliency" else "examples"]
        for pair, v in pairs_of(pccs, variant).items():
            sd = np.std(v, ddof=1) if len(v) > 1 else 0
            rows.append({"variant": variant, "pair": pair, "ours (mean ± sd)": f"{np.mean(v):.2f} ± {sd:.2f}",
                         "seed 003 Table 4": "{:.2f} ± {:.2f}".format(*ref[pair])})
    return pd.DataFrame(rows).set_index(["variant", "pair"])
