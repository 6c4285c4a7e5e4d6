"""The networks' shapes and sizes: the public code's autoencoders (about 87k and 249k parameters), the
pretext classifier and the Burgess VAE on 32 and 64 px images."""
from __future__ import annotations

import pytest
import torch

from lib.labelfree import models


def parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mnist_autoencoder_reconstructs_images_through_four_latents():
    model = models.mnist_autoencoder().eval()
    x = torch.rand(3, 1, 28, 28)
    assert model.encoder(x).shape == (3, 4) and model(x).shape == x.shape
    assert 0 <= model(x).min() and model(x).max() <= 1  # sigmoid output
    assert parameters(model) == 87_125 and parameters(model.encoder) == 43_428


def test_ecg_autoencoder_reconstructs_sequences_through_its_embedding():
    model = models.ecg_autoencoder()
    x = torch.randn(2, 140, 1)
    assert model.encoder(x).shape == (2, 64) and model(x).shape == x.shape
    assert parameters(model) == 249_473


def test_pretext_classifier_shares_the_mnist_encoder():
    model = models.PretextClassifier()
    assert isinstance(model.encoder, models.MnistEncoder) and model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert parameters(model) == parameters(model.encoder) + 4 * 10 + 10


@pytest.mark.parametrize("size, latent_dim", [(32, 3), (64, 6)])
def test_disentangled_vae_shapes(size, latent_dim):
    model = models.DisentangledVAE(size, latent_dim)
    x = torch.rand(2, 1, size, size)
    logits, mu, logvar, z = model(x, torch.Generator().manual_seed(0))
    assert logits.shape == x.shape and mu.shape == logvar.shape == z.shape == (2, latent_dim)
    torch.testing.assert_close(model.encoder.mu(x), mu)
    again = model(x, torch.Generator().manual_seed(0))[3]
    assert torch.equal(z, again)  # the reparameterisation noise follows the generator
    # kept in channels-last layout for speed, which changes values by rounding only
    assert model.decoder.net[-1].weight.is_contiguous(memory_format=torch.channels_last)
    plain = models.DisentangledVAE(size, latent_dim).to(memory_format=torch.contiguous_format)
    plain.load_state_dict(model.state_dict())
    for ours, reference in zip(model(x, torch.Generator().manual_seed(0)), plain(x, torch.Generator().manual_seed(0))):
        torch.testing.assert_close(ours, reference)


def refuse_eval_mode_backward(model):
    """Emulate cuDNN on the CPU: an RNN run in eval mode with gradients on raises, as cuDNN's backward does."""
    def hook(module, args):
        if torch.is_grad_enabled() and not module.training:
            raise RuntimeError("cudnn RNN backward can only be called in training mode")
    return [m.register_forward_pre_hook(hook) for m in model.modules() if isinstance(m, torch.nn.RNNBase)]


def ecg_gradients(model, x, call):
    from lib.labelfree.examples import per_example_gradients
    from lib.labelfree.features import feature_importance
    if call == "feature importance":
        return feature_importance(model.encoder, x, "integrated_gradients", n_steps=3)
    return per_example_gradients(model, x, torch.nn.functional.l1_loss, chunk_size=2)


@pytest.mark.parametrize("call", ["feature importance", "per-example gradients"])
def test_ecg_gradients_run_where_cudnn_refuses_eval_mode_rnns_and_change_nothing(call):
    torch.manual_seed(0)
    model, x = models.ecg_autoencoder(seq_len=6, embedding=4).eval(), torch.randn(3, 6, 1)
    expected = ecg_gradients(model, x, call)  # on the CPU eval-mode RNNs differentiate
    handles = refuse_eval_mode_backward(model)
    with pytest.raises(RuntimeError, match="training mode"):  # what an unguarded gradient meets on a GPU
        torch.autograd.grad(model.encoder(x.requires_grad_()).sum(), x)
    torch.testing.assert_close(ecg_gradients(model, x.detach(), call), expected)
    assert not any(m.training for m in model.modules())  # every mode restored
    for h in handles:
        h.remove()


def test_differentiable_rnns_refuses_an_rnn_whose_dropout_acts():
    rnn = torch.nn.LSTM(2, 3, num_layers=2, dropout=0.5).eval()
    with pytest.raises(ValueError, match="dropout"):
        with models.differentiable_rnns(rnn):
            pass
    with models.differentiable_rnns(torch.nn.LSTM(2, 3).eval()) as single:  # one layer: dropout unused
        assert single.training
