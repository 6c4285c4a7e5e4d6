"""Counterfactual Generative Networks on the MNIST variants (Sauer & Geiger, 2021): the generator, its
losses and training, the conditional GAN baseline, counterfactual datasets and the invariant classifier.
Each submodule re-exports its public names here."""

from .classifier import InvariantClassifier, evaluate, train_invariant_classifier  # noqa: E402

from .model import CGN, compose, counterfactual_dataset, shuffle
from .training import PAPER_STEPS, VARIANT_SETTINGS, default_losses, train_cgn
from .variants import VARIANTS, counterfactual_mnist
from .quality import cue_accuracy, cue_centroids, mask_intact, real_mask_statistics, shape_classifier
from .gan import ConditionalGenerator, gan_dataset, train_gan
from .explain import gradcam, gradcam_iou, iou, knn_accuracy, penultimate_features, tsne
