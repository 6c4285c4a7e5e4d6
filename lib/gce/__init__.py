"""Generative Causal Explanations (O'Shaughnessy et al., 2020): the explainer (a VAE whose first K latents
carry the classifier's information flow), its evaluation, Algorithm 1 for choosing K, L and λ, and the
black-box classifiers it explains. Each submodule re-exports its public names here."""
from . import classifiers, models
from .method import (SAMPLERS, ablation_accuracy, decision_change_rate, explainer_report, fit_classifier,
                     fit_explainer, flow_from_probs, group_flow, information_flow, latent_samples, latent_sweep,
                     sweep_intensity_correlation, train_gce, vae_terms)
