"""Library of the replication report: ``core`` (data, cache, training, device) and ``report`` (verdicts,
scorecard, runner) beneath one package per paper (``gce``, ``labelfree``, ``cgn``), which import ``core``
and ``report`` but never each other."""
