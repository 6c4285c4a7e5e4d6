"""What every paper's code stands on: data loading, the model cache, the training loop, seeding and the
device. Imports no paper package."""
