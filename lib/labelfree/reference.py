"""Label-Free XAI (Crabbé & van der Schaar, 2022): the paper's settings and the published numbers to compare against, from
../shared/reference/*.md (paper and reproductions). Keys name the source: "paper" is the original
paper or its public code's stored results; "seed 000" etc. are the reproduction reports in ../shared/seeds/.
"""

# Label-Free XAI, claims 3 and 4 (Crabbé & van der Schaar 2022; public code; seed 003).
# Claim 3: mean off-diagonal PCC between the per-unit saliency maps |mu_j(x) * GradientShap_j(x)|
# (zero baseline). Seed 003 shows the trend only (Fig. 3: no fall with beta; with the TV prior a fall).
# "another reproduction": the PCC range over beta in {1, 5, 10} and both kinds, 5 runs.
LABELFREE_CLAIM3 = {
    "latent_dim": {"mnist": 3, "dsprites": 6},
    "batch_size": {"mnist": 300, "dsprites": 500},
    "epochs": 100,
    "train_examples": {"mnist": 60_000, "dsprites": 737_280},   # the full training sets
    "betas": [1, 5, 10],
    "runs": {"paper": 20, "seed 003": 5},
    "tv_lambdas": [0.001, 0.005, 0.01, 0.1],
    "pcc_range": {"another reproduction": {"mnist": (0.019, 0.029), "dsprites": (0.24, 0.40)}},
}
# Claim 4: PCC between the pretext tasks' |GradientShap| saliency maps and between their DKNN example
# importances; seed 003 Table 4 (mean, sd over 5 runs). R reconstruction, D denoising, I inpainting,
# C classification.
LABELFREE_CLAIM4 = {
    "tasks": ["R", "D", "I", "C"],
    "latent_dim": 4, "epochs": 100, "patience": 10, "batch_size": 300, "subtrain_size": 1000, "runs": 5,
    "train_examples": 60_000,
    "saliency": {"seed 003": {"R-D": (0.41, 0.02), "R-I": (0.33, 0.03), "R-C": (0.44, 0.02),
                              "D-I": (0.32, 0.01), "D-C": (0.41, 0.02), "I-C": (0.33, 0.02)}},
    "examples": {"seed 003": {"R-D": (0.09, 0.02), "R-I": (0.13, 0.03), "R-C": (0.09, 0.03),
                              "D-I": (0.10, 0.03), "D-C": (0.06, 0.03), "I-C": (0.09, 0.02)}},
    "ranges": {"another reproduction": {"saliency": (0.32, 0.43), "examples": (0.05, 0.13)}},
}

# Label-Free XAI, claims 1 and 2 (Crabbé & van der Schaar 2022; public code; seed 003). Both are shown as
# curves only (no tables): claim 1 "latent shift rises steeply, then flattens; every method beats random;
# IG best" (MNIST, ECG5000); claim 2 "similarity rate decreases with M; DKNN and SimplEx beat Influence
# Functions and TracIn". Settings of the public code; cost from seed 003 (NVIDIA Titan RTX).
LABELFREE_CLAIMS_1_2 = {
    "epochs": {"MNIST": 100, "ECG5000": 150},   # at most, with early stopping (patience 10)
    "batch_size": {"MNIST": 300, "ECG5000": 20},
    # MNIST: the official 60,000 training images; ECG5000: 80 % of the 2,919 normal beats of all 5,000 rows.
    "train_examples": {"MNIST": 60_000, "ECG5000": 2_335},
    "feature_fractions": [0.05, 0.1, 0.2, 0.5, 0.8, 1.0],
    "example_fractions": [0.05, 0.1, 0.2, 0.5, 0.7, 1.0],
    "ig_steps": 50, "gs_samples": 5, "n_train": 1000, "n_test": 1000,
    "lissa": {"damping": 1e-3, "scale": 1000, "depth": 100},
    "cost_hours": {"seed 003": {"influence_functions_ecg_1000": 18, "total": 110}},
}
