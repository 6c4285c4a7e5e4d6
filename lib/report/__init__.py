"""How results become a report: the run header and verdicts of a claim notebook (``start``, criteria as
data), the regression check CI runs, the scorecard, the runner that executes notebooks with parameter
profiles, cluster submission and the figure style. Imports no paper package statically (the
scorecard finds each paper's claims registry by name)."""
from .claims import Claim, Metric, Precondition, Row
from .notebook import start
from .verdict import Criterion, VerdictLog, at_least, at_most, between, judge
