"""Counterfactual Generative Networks on the MNIST variants (Sauer & Geiger, 2021): the generator, its
losses and training, the conditional GAN baseline, counterfactual datasets and the invariant classifier.
Each submodule re-exports its public names here."""

from .classifier import InvariantClassifier, evaluate, train_invariant_classifier  # noqa: E402
