"""Counterfactual Generative Networks on the MNIST variants (Sauer & Geiger, 2021).

- ``variants``: the three biased MNIST variants (data);
- ``model``: the CGN (shape, texture and background mechanisms, composer) and its discriminators;
- ``losses`` and ``training``: the method, the CGN's losses and its training (``fit_cgn``);
- ``gan``: the conditional GAN baseline; ``classifier``: the invariant classifier;
- ``quality`` and ``explain``: evaluation of the generated images and of the classifiers;
- ``experiments``: the notebooks' loops over variants, configurations and seeds (tidy tables);
- ``figures``; ``reference``: the paper's published numbers; ``claims``: the criteria of every checked
  metric, the rows of the claims matrix and the errata of stored pages.

Public names are re-exported here.
"""
from .classifier import InvariantClassifier, evaluate, fit_invariant_classifier, train_invariant_classifier
from .explain import binarise_cam, gradcam, gradcam_iou, iou, knn_accuracy, penultimate_features, tsne
from .gan import ConditionalGenerator, GANPair, fit_gan, gan_dataset, train_gan
from .losses import StyleNet, binary_entropy, edge_loss, style_loss
from .model import CGN, ConvDiscriminator, LinearDiscriminator, compose, counterfactual_dataset, shuffle
from .quality import (ShapeClassifier, class_masks, cue_accuracy, cue_centroids, cue_control, fit_shape_classifier,
                      mask_intact, real_mask_statistics, shape_accuracy)
from .training import PAPER_STEPS, STYLE_SUBSTITUTE, VARIANT_SETTINGS, default_losses, fit_cgn, train_cgn
from .variants import VARIANTS, binarised_digits, counterfactual_mnist
