"""Label-free explainability (Crabbé & van der Schaar, 2022): feature and example importance for encoders
without labels, disentangled VAEs and pretext tasks. Each submodule re-exports its public names here."""
from .examples import (dknn, influence_functions, per_example_gradients, representations, similarity_rate,
                       simplex, tracin)
from .features import feature_importance, latent_shift
from .dsprites import render as render_dsprites, sample_splits as dsprites_splits
from .vae import (fit_vae, gradient_shap, kl_decomposition, label_free_gradient_shap, mnist_32, offdiagonal_pcc,
                  total_variation, unit_kl, unit_saliency)
from .pretext import TASKS as PRETEXT_TASKS, dknn_scores, pair_values, pcc_matrix, pretext_encoder, saliency
