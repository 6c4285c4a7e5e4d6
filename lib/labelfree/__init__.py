"""Label-free explainability (Crabbé & van der Schaar, 2022): feature and example importance for encoders
without labels, disentangled VAEs and pretext tasks. Each submodule re-exports its public names here."""
