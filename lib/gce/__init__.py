"""Generative Causal Explanations (O'Shaughnessy et al., 2020).

``models``: the explainer (a VAE whose first K latents α carry the classifier's information flow) and the
black-box classifiers it explains; ``method``: the information-flow estimator, the GCE objective and its
(cached) training; ``evaluation``: sweeps, ablation and the numbers the claims are judged on;
``experiments``: the claim notebooks' seed and variant loops, as tidy tables; ``figures``; ``select``:
Algorithm 1 for choosing K, L and λ; ``estimators``: the QMC-versus-MC studies; ``toys``: problems with
known answers; ``reference``: the paper's settings and published numbers; ``claims`` (imported on its own):
the declared criteria of every claim page and the rows of the claims matrix. The public names of models,
method and evaluation are re-exported here.
"""
from . import estimators, evaluation, experiments, figures, method, models, reference, select, toys
from .evaluation import (OFFSETS, ablation_accuracy, decision_change_rate, end_of_training, explainer_report,
                         factor_names, latent_sweep, report_columns, rows_per_class, sweep_intensity_correlation)
from .method import (EPS, SAMPLERS, epoch_steps, fit_classifier, fit_explainer, flow_from_probs, group_flow,
                     information_flow, latent_samples, train_gce, vae_terms)
from .models import ARCHITECTURES, VAE, CNNClassifier, build_classifier
