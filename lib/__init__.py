"""Library of the replication report: data, networks, estimators, training, plots, verdicts."""
