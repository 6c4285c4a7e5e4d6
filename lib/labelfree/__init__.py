"""Label-free explainability (Crabbé & van der Schaar, 2022): feature and example importance for encoders
without labels, disentangled VAEs and pretext tasks. Each submodule re-exports its public names here."""
from .examples import (dknn, influence_functions, per_example_gradients, representations, similarity_rate,
                       simplex, tracin)
from .features import feature_importance, latent_shift
