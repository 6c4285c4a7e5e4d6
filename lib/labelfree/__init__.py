"""Label-free explainability (Crabbé & van der Schaar, 2022): feature and example importance for encoders
without labels (claims 1 and 2), disentangled VAEs (claim 3) and pretext tasks (claim 4).

Modules: ``models`` (the networks), ``training`` (objectives and trainers), ``features`` and ``examples``
(the method: label-free feature and example importance), ``evaluation`` (latent shift, similarity rate,
saliency correlations and the verdict quantities), ``data`` (the experiments' splits), ``dsprites`` (the
generated data set), ``experiments`` (seed and variant loops returning tidy DataFrames), ``figures`` and
``reference`` (the paper's settings and published numbers). Their public names are re-exported here.
"""
from . import dsprites, figures, reference
from .data import (AutoencoderData, disentangle_data, example_data, feature_data, mnist_32, pretext_data,
                   subtrain_indices)
from .evaluation import (by_fraction, example_checks, feature_checks, latent_shift, mask_variant_checks, offdiagonal_pcc,
                         pair_values, pairing_ablation, pairs_of, pcc_fall, pcc_matrix, pretext_checks, similarity_rate,
                         table4_comparison, table4_contrasts, unit_kl)
from .examples import (dknn, dknn_scores, example_importance, influence_functions, per_example_gradients,
                       representations, simplex, tracin)
from .experiments import (AUTOENCODERS, MASKINGS, autoencoders, beta_sweep, consistency_curves, describe_autoencoders,
                          describe_sweep, latent_shift_curves, mask_variant_curves, masking_baseline, pretext_correlations,
                          pretext_encoders, similarity_rates, sweep_config, top_example_agreement, top_examples)
from .features import (abs_gradient_shap, feature_importance, gradient_shap, integrated_gradients, label_free_gradient_shap,
                       unit_saliency)
from .models import (Autoencoder, DisentangledVAE, PretextClassifier, differentiable_rnns, ecg_autoencoder,
                     mnist_autoencoder)
from .training import (KINDS, TASKS, fit_autoencoder, fit_disentangled_vae, fit_pretext_encoder, kl_decomposition,
                       total_variation, train_autoencoder, train_disentangled_vae, train_pretext_classifier)
