"""Claims and their criteria as data: each paper package declares, in ``lib/<paper>/claims.py``, the
criteria of every checked metric (``CLAIMS``, one ``Claim`` per claim page, committed before the runs
they judge) and the rows of the claims matrix (``ROWS``: every claim of the paper and every extra
experiment of its reproductions, with what each source found). Notebooks judge with ``CLAIMS`` through
``lib.report.start``; the scorecard and ``python -m lib.report.rejudge`` read the same objects.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from .verdict import Criterion

PAPERS = {"gce": "Generative Causal Explanations", "labelfree": "Label-Free Explainability",
          "cgn": "Counterfactual Generative Networks (MNIST)"}
SOURCES = ("paper", "000", "001", "002", "003", "004")  # the matrix's columns before ours
FINDINGS = {"✓": "reproduced / shown", "✗": "not reproduced", "◐": "partly", "·": "not examined"}


@dataclass(frozen=True)
class Precondition:
    """Something that must hold on every seed before a metric can be judged (the classifier trained,
    the GAN's images carry their label); its quantity is measured by the notebook."""
    name: str
    criterion: Criterion


@dataclass(frozen=True)
class Metric:
    """One checked metric: its criterion, the preconditions (by name) it needs, the number of seeds a
    verdict needs, and whether it is deterministic (the same value on every run)."""
    name: str
    criterion: Criterion
    preconditions: tuple[str, ...] = ()
    seeds: int = 2
    deterministic: bool = False


@dataclass(frozen=True)
class Claim:
    """The criteria of one claim page: ``key`` is ``<notebook>`` or ``<notebook>/<variant>``."""
    key: str
    title: str
    metrics: tuple[Metric, ...]
    preconditions: tuple[Precondition, ...] = ()

    def __post_init__(self):
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: a metric is declared twice")
        known = {p.name for p in self.preconditions}
        for m in self.metrics:
            if set(m.preconditions) - known:
                raise ValueError(f"{self.key}: {m.name!r} needs undeclared preconditions "
                                 f"{sorted(set(m.preconditions) - known)}")

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"{self.key}: no metric {name!r} is declared in the claims registry "
                       f"(declared: {[m.name for m in self.metrics]})")

    def precondition(self, name: str) -> Precondition:
        for p in self.preconditions:
            if p.name == name:
                return p
        raise KeyError(f"{self.key}: no precondition {name!r} is declared (declared: "
                       f"{[p.name for p in self.preconditions]})")


@dataclass(frozen=True)
class Row:
    """A row of the claims matrix: a claim of the paper or an extra experiment of a reproduction.

    ``found`` maps a source ("paper", "000" … "004") to a finding symbol (``FINDINGS``); ``claims`` are the
    ``Claim`` keys whose records give our verdict; ``offline`` says why we cannot run it, where we cannot."""
    paper: str
    text: str
    source: str
    found: dict = field(default_factory=dict)
    claims: tuple[str, ...] = ()
    offline: str = ""


def registry(paper: str):
    """A paper's claims module (imported by name: the report imports no paper package statically)."""
    if paper not in PAPERS:
        raise KeyError(f"unknown paper {paper!r}; papers: {list(PAPERS)}")
    return importlib.import_module(f"lib.{paper}.claims")


def all_claims() -> dict[str, Claim]:
    claims = {}
    for paper in PAPERS:
        for claim in registry(paper).CLAIMS:
            if claim.key in claims:
                raise ValueError(f"claim key {claim.key!r} declared twice")
            claims[claim.key] = claim
    return claims


def all_rows() -> list[Row]:
    return [row for paper in PAPERS for row in registry(paper).ROWS]


def lookup(claims, key: str) -> Claim:
    """The claim ``key`` from a paper's ``CLAIMS``, with the known keys in the error."""
    for claim in claims:
        if claim.key == key:
            return claim
    raise KeyError(f"no claim {key!r} in the registry; known: {[c.key for c in claims]}")
