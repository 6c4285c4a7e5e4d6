"""GCE (O'Shaughnessy et al., 2020): the paper's settings and the published numbers to compare against, from
../shared/reference/*.md (paper and reproductions). Keys name the source: "paper" is the original
paper or its public code's stored results; "seed 000" etc. are the reproduction reports in ../shared/seeds/.
"""

# GCE experimental settings (paper and its code, gce.md; classifier epochs from seed 000's Table 5)
GCE_SETTINGS = {
    "mnist_3_8": {"dataset": "mnist", "classes": [3, 8], "k": 1, "l": 7, "lam": 0.05,
                  "n_alpha": 100, "n_beta": 25, "steps": 8000, "batch_size": 64, "lr": 5e-4, "classifier_epochs": 20},
    "mnist_1_4_9": {"dataset": "mnist", "classes": [1, 4, 9], "k": 2, "l": 2, "lam": 0.1,
                    "n_alpha": 75, "n_beta": 25, "steps": 8000, "batch_size": 64, "lr": 5e-4,
                    "classifier_epochs": 30},
    # Batch 32 and lr 1e-4: seed 000's Table 4 (the reference notes give them as the paper's); the original
    # code's defaults, 64 and 5e-4, are the MNIST settings, and the stored Fashion-MNIST pages ran with them.
    "fmnist_0_3_4": {"dataset": "fashion_mnist", "classes": [0, 3, 4], "k": 2, "l": 4, "lam": 0.05,
                     "n_alpha": 100, "n_beta": 25, "steps": 8000, "batch_size": 32, "lr": 1e-4,
                     "classifier_epochs": 50},
    # All ten MNIST digits: seed 002's extension (K = 3, L = 7, lambda = 0.1, the rest as for 3 vs 8).
    "mnist_10": {"dataset": "mnist", "classes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "k": 3, "l": 7, "lam": 0.1,
                 "n_alpha": 100, "n_beta": 25, "steps": 8000, "batch_size": 64, "lr": 5e-4,
                 "classifier_epochs": 20},
}

# Numbers per dataset; per-factor lists are ordered alpha_1..alpha_K, beta_1..beta_L. Per-factor flows and
# ablation accuracies exist only for Fashion-MNIST: seed 000's Figure 3, read off its bar charts (about
# +-0.01) by the reference notes. The reference notes' per-factor numbers for MNIST 3/8 and 1/4/9 come from
# bar charts in the repository of seed 000's authors, not from any reproduction report: not used here.
GCE_NUMBERS = {
    "mnist_3_8": {
        "classifier_accuracy": {"paper": 0.994},
        "final_flow": {"paper": 0.659},            # mean of the last 500 steps, nats (bound ln 2)
        "final_D": {"paper": 27.8},
    },
    "mnist_1_4_9": {
        "classifier_accuracy": {"paper": 0.992},
        "final_flow": {"paper": 1.058},
        "final_D": {"paper": 20.8},
    },
    "fmnist_0_3_4": {
        "classifier_accuracy": {"paper": 0.957},
        "final_flow": {"paper": 1.047},
        "final_D": {"paper": 21.7},
        "factor_flow": {"seed 000": [0.50, 0.47, None, None, None, None]},  # betas: 0.03-0.045
        "ablation": {"seed 000": {"original": 0.92, "reencoded": 0.72,
                                  "removed": [0.60, 0.54, 0.64, 0.86, 0.72, 0.72]}},
    },
    "mnist_10": {},  # seed 002 shows sweeps only (alpha changes the class, betas barely), no numbers
}

# Seed 000, Table 1: wall time of 8000 training steps (GCE, plain VAE) and of the classifier's training,
# in seconds, on a GTX 1080.
GCE_COST_SEED000 = {
    "mnist_3_8": {"classifier": 71, "vae": 5 * 60 + 24, "gce": 34 * 60 + 25},
    "mnist_1_4_9": {"classifier": 2 * 60 + 47, "vae": 5 * 60 + 17, "gce": 25 * 60 + 4},
    "fmnist_0_3_4": {"classifier": 2 * 60 + 59, "vae": 3 * 60 + 58, "gce": 23 * 60 + 40},
}

# GCE with other classifiers on MNIST 3 vs 8. Seed 001: ResNet-, DenseNet- and Inception-style classifiers
# reach 100% (appendix A.2; its base CNN 96%), Inception 99% "before training the generative causal explainer"
# (Sec. 4.1.1, the figure used here); with Inception the beta sweeps also change the decision. Seed 002: a
# linear layer on the mean pixel intensity, explained with K = 1, L = 7, lambda 0.001,
# has 52.8% test accuracy; alpha encodes brightness, and beta_1, beta_2 seem to as well.
GCE_CLASSIFIER_NUMBERS = {
    "accuracy": {"seed 001": {"cnn": 0.96, "resnet": 1.0, "densenet": 1.0, "inception": 0.99},
                 "seed 002": {"mean_intensity": 0.528}},
    "mean_intensity_lam": 0.001,
}


def explainer_lams(architectures) -> dict:
    """λ of the GCE explaining each classifier architecture: the paper's for MNIST 3 vs 8, seed 002's for the
    mean-intensity classifier."""
    lam, poor = GCE_SETTINGS["mnist_3_8"]["lam"], GCE_CLASSIFIER_NUMBERS["mean_intensity_lam"]
    return {a: poor if a == "mean_intensity" else lam for a in architectures}



def seed000_measures(dataset: str) -> dict:
    """Seed 000's numbers for ``dataset`` (Fashion-MNIST only, its Figure 3) in the form of the headline notebook's measures: the per-factor
    flows and accuracies with the factor removed ("flow", "removed": one value per factor, or None), and
    {"seed 000": value}, or {} where it gives none, for the largest β flow over the smallest α flow
    ("β leak") and the accuracy lost when α or a β is removed (re-encoded accuracy minus the largest
    accuracy without an α, minus the smallest without a β)."""
    k = GCE_SETTINGS[dataset]["k"]
    flow = GCE_NUMBERS[dataset].get("factor_flow", {}).get("seed 000")
    ablation = GCE_NUMBERS[dataset].get("ablation", {}).get("seed 000")
    seen = lambda value: {"seed 000": round(value, 3)}  # noqa: E731
    return {"flow": flow, "removed": ablation and ablation["removed"],
            "β leak": seen(max(flow[k:]) / min(flow[:k])) if flow and None not in flow else {},
            "α ablation drop": seen(ablation["reencoded"] - max(ablation["removed"][:k])) if ablation else {},
            "largest β ablation drop": seen(ablation["reencoded"] - min(ablation["removed"][k:])) if ablation else {}}


# Algorithm 1 tuning curves of the paper (Fig. 11 for MNIST 3/8, Fig. 16 for FMNIST 0/3/4), from the
# original code's stored results as listed in ../shared/reference/gce.md. ``chosen`` is the paper's
# (K, L, λ). The K + L at which the λ and C curves were taken is not stated there; the chosen one is
# assumed when the λ curve is compared with step 1.
PAPER_CURVES = {
    "mnist_3_8": {
        "total_dims": list(range(1, 13)),
        "D_total": [40.2, 36.3, 33.2, 31.8, 30.0, 28.8, 28.1, 27.5, 27.5, 27.3, 27.2, 27.1],
        "k_values": [1, 2, 3], "C_k": [0.675, 0.675, 0.675],
        "lams": [0.001, 0.005, 0.01, 0.05], "D_lam": [32.6, 29.1, 28.5, 27.8], "C_lam": [0.684, 0.683, 0.681, 0.675],
        "chosen": (1, 7, 0.05),
    },
    "fmnist_0_3_4": {
        "total_dims": list(range(1, 8)),
        "D_total": [31.3, 25.3, 23.5, 22.4, 22.2, 22.5, 22.4],
        "k_values": [1, 2, 3], "C_k": [1.019, 1.014, 1.029],
        "lams": [0.01, 0.05, 0.1, 1.0], "D_lam": [26.1, 23.9, 23.4, 22.2], "C_lam": [1.060, 1.014, 0.973, 0.029],
        "chosen": (2, 4, 0.05),
    },
}

# Seed 000 (ξ = 0.05, λ₀ = 1e-3, κ = 10^0.5) on MNIST 3/8; seed 001 on FMNIST 0/3/4 at a 6% and a 5%
# approach threshold (its 3000-step runs).
REPRODUCTION_CHOICES = {
    "mnist_3_8": {"seed 000": (1, 9, 0.001)},
    "fmnist_0_3_4": {"seed 001 (6%)": (2, 4, 0.04), "seed 001 (5%)": (2, 5, 0.07)},
}
# Seed 001's two approach thresholds gave two different selections.
REPRODUCTION_DISTINCT = {"fmnist_0_3_4": {"seed 001": 2}}

# RMSE over 200 repetitions on the toy case, measured by the reference notes.
TOY_REFERENCE_RMSE = {(100, 25): {"mc": 0.022, "qmc": 0.003}, (25, 10): {"mc": 0.046, "qmc": 0.015}}
