"""How results become a report: verdicts and their regression check, the scorecard, the runner that
executes notebooks with parameter profiles, cluster submission. Imports no paper package."""
