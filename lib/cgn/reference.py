"""CGN (Sauer & Geiger, 2021): the paper's settings and the published numbers to compare against, from
../shared/reference/*.md (paper and reproductions). Keys name the source: "paper" is the original
paper or its public code's stored results; "seed 000" etc. are the reproduction reports in ../shared/seeds/.
"""

# CGN (Sauer & Geiger 2021), MNIST Table 3, ablation and explainability (reference/cgn.md).
# "table": (train, test) accuracy in percent of the invariant classifier per training set; the paper has no
# "original + GAN" or "original + CGN" row (seed 004 ran both). "cgn_test_5_seeds": seed 004's mean and sd of the CGN row.
# "ablation": the paper's test accuracy at 1e4 / 1e5 / 1e6 counterfactual images (ratio 1; ratios 5, 10 and
# 20 "similar", no numbers). "gradcam_iou": seed 004's mean IoU (original-trained, CF-trained classifier),
# with masks of the wrong split for double-colored and wildlife (a bug we fix).
CGN_TABLE3 = {
    # "cgn_steps": 15 epochs of the original's 50k training images at batch 16, the CGN's (and GAN's) training
    "settings": {"cgn_steps": 15 * 50_000 // 16, "n_generated": 50_000, "classifier_epochs": 10, "test_images": 10_000},
    "table": {
        "paper": {
            "colored": {"original": (99.5, 35.9), "GAN": (99.8, 40.7), "CGN": (99.7, 95.1)},
            "double_colored": {"original": (100.0, 10.3), "GAN": (100.0, 10.8), "CGN": (97.4, 89.0)},
            "wildlife": {"original": (100.0, 10.1), "GAN": (100.0, 10.4), "CGN": (99.2, 85.7)},
        },
        "seed 004": {
            "colored": {"original": (99.7, 37.6), "GAN": (99.6, 32.5), "CGN": (99.4, 92.3),
                        "original + GAN": (99.6, 41.5), "original + CGN": (99.2, 95.9)},
            "double_colored": {"original": (100.0, 10.5), "GAN": (100.0, 10.6), "CGN": (94.8, 86.5),
                               "original + GAN": (100.0, 10.0), "original + CGN": (96.9, 85.5)},
            "wildlife": {"original": (100.0, 10.8), "GAN": (99.9, 11.2), "CGN": (95.5, 81.4),
                         "original + GAN": (100.0, 11.1), "original + CGN": (96.8, 62.8)},
        },
    },
    "cgn_test_5_seeds": {"seed 004": {"colored": (92.93, 0.44), "double_colored": (86.63, 0.24),
                                      "wildlife": (81.39, 0.44)}},
    "ablation": {"paper": {"colored": {10_000: 91.0, 100_000: 92.6, 1_000_000: 92.0},
                           "double_colored": {10_000: 72.0, 100_000: 88.9, 1_000_000: 90.7},
                           "wildlife": {10_000: 50.3, 100_000: 83.9, 1_000_000: 84.7}}},
    "gradcam_iou": {"seed 004": {"colored": (0.437, 0.454), "double_colored": (0.374, 0.426),
                                 "wildlife": (0.388, 0.442)}},
}

# CGN (Sauer & Geiger 2021), MNIST claims 1 and 2: the generator itself (reference/cgn.md, seed 004 App. C).
# "collapse": share of 20 colored-MNIST runs in which all 10 digit masks are intact, with and without seed
# 004's edge loss (its Fig. 7), and its mean classifier test accuracy (range) with the edge loss.
# The MNIST loss ablation (claim 2 of book/cgn.md) was run by nobody: there are no numbers to compare with.
CGN_NUMBERS = {
    "collapse": {"with_edge": 0.75, "without_edge": 0.0, "runs": 20,
                 "test_accuracy_with_edge": {"mean": 89.8, "range": (73.3, 93.9)}},
}
