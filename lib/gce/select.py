"""Algorithm 1 of the GCE paper (selecting K, L and λ), with its vague words made explicit.

The paper's procedure (O'Shaughnessy et al. 2020, Algorithm 1):

1. K = 0, λ = 0: optimise only the data term D and increase L until D plateaus;
2. repeat: increment K and decrement L (K + L fixed); increase λ until D approaches its step-1 value;
3. until the causal term C = I(α; Ŷ) plateaus; use (K, L, λ) from immediately before the plateau.

Definitions used here (each a parameter):

* **plateau**: the relative improvement of a quantity from one candidate to the next (a decrease of D,
  an increase of C) is at most ``xi`` for ``window`` consecutive candidates. The candidate chosen is the
  one just before those steps. ``xi = 0`` with ``window = 1`` is seed 000's "the next iteration reverses
  the trend" (or stays flat).
* **approaches**: λ runs through a geometric grid λ₀·κ^j and stops at the first value whose D is within
  ``xi_approach`` (relative, from above) of the step-1 D at the same K + L.

The algorithm is pure: the training is a callable ``score(k, l, lam) -> (C, D)`` supplied by the caller
(``GCEScorer``, which trains and caches GCEs, in the notebook; analytic curves, ``lib.gce.toys.tuning_score``,
in the tests). ``score(0, l, 0.0)`` is the step-1 model (a plain VAE, only D counts). ``tune`` runs it on a
grid of trained explainers and keeps the whole grid, so that the choice can be recomputed for other
thresholds (``TuningRun``) and the trends judged for our curves and the paper's (``tuning_trends``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def lambda_grid(lam0: float, kappa: float, n: int) -> list[float]:
    """λ₀, λ₀κ, …, λ₀κ^(n−1), rounded to 4 significant digits (so κ = 3.1623 and √10 give one grid)."""
    if lam0 <= 0 or kappa <= 1 or n < 1:
        raise ValueError(f"need lam0 > 0, kappa > 1, n >= 1; got {lam0}, {kappa}, {n}")
    return [float(f"{lam0 * kappa ** j:.4g}") for j in range(n)]


def relative_improvements(values, increasing: bool = False) -> list[float]:
    """(v[i-1] − v[i]) / |v[i-1]| for a quantity to decrease, the opposite sign for one to increase.

    One entry per step, so one fewer than ``values``; a positive entry is an improvement.
    """
    values = [float(v) for v in values]
    sign = 1.0 if increasing else -1.0
    return [sign * (b - a) / max(abs(a), 1e-12) for a, b in zip(values, values[1:])]


def plateau_index(values, xi: float, window: int = 1, increasing: bool = False) -> int | None:
    """Index of the candidate just before the plateau, or None if ``values`` never plateau.

    The plateau starts at the first step i → i+1 from which ``window`` consecutive relative improvements
    are all at most ``xi``; the answer is i. A trailing run shorter than ``window`` is not a plateau.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    steps = relative_improvements(values, increasing)
    for i in range(len(steps) - window + 1):
        if all(s <= xi for s in steps[i:i + window]):
            return i
    return None


def approach_index(values, target: float, xi: float) -> int | None:
    """First index whose value is within ``xi`` (relative) of ``target`` from above, or None."""
    for i, v in enumerate(values):
        if (float(v) - target) / abs(target) <= xi:
            return i
    return None


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); nan for fewer than 3 points or a constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    if len(x) < 3:
        return math.nan

    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for value in np.unique(v):  # ties share their mean rank
            tied = v == value
            r[tied] = r[tied].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


class NotEvaluated(KeyError):
    """A lookup-only score table was asked for a configuration that was never trained."""


class ScoreTable:
    """Memoises ``score(k, l, lam) -> (C, D)``; without a score function it only looks values up."""

    def __init__(self, score=None, table: dict | None = None):
        self.score = score
        self.table: dict[tuple[int, int, float], tuple[float, float]] = dict(table or {})

    def __call__(self, k: int, l: int, lam: float) -> tuple[float, float]:
        key = (int(k), int(l), float(lam))
        if key not in self.table:
            if self.score is None:
                raise NotEvaluated(f"(K, L, λ) = {key} was not trained")
            c, d = self.score(*key)
            self.table[key] = (float(c), float(d))
        return self.table[key]

    def frozen(self) -> "ScoreTable":
        """A lookup-only copy: selections recomputed from it never train."""
        return ScoreTable(None, self.table)


@dataclass
class Selection:
    """The outcome of Algorithm 1 and everything it looked at."""
    k: int
    l: int
    lam: float
    total: int                 # K + L at which step 2 ran
    step1_total: int           # K + L chosen by step 1 (equals ``total`` unless step 2 was pinned)
    D1: float                  # step-1 D at K + L = total: the value step 2 must approach
    step1: list[tuple[int, float]] = field(default_factory=list)   # (K + L, D) in the order evaluated
    step2: list[dict] = field(default_factory=list)  # per K: k, l, lam, C, D, approached, tried
    step1_plateau: bool = True   # False: no plateau in the grid, the last K + L was used
    step2_plateau: bool = True   # False: C never plateaued, the last K was used

    @property
    def choice(self) -> tuple[int, int, float]:
        return self.k, self.l, self.lam

    def flags(self) -> str:
        """Short text on what did not happen as the algorithm intends ('' if all did)."""
        out = []
        if not self.step1_plateau:
            out.append("D: no plateau in grid")
        if not self.step2_plateau:
            out.append("C: no plateau in grid")
        missed = [s["k"] for s in self.step2 if not s["approached"]]
        if missed:
            out.append(f"λ grid ended before D approached (K = {', '.join(map(str, missed))})")
        return "; ".join(out)

    def summary(self) -> str:
        """One sentence on where the two steps ran and what did not go as intended."""
        return (f"step 1 chose K + L = {self.step1_total}; step 2 ran at K + L = {self.total} (target D = "
                f"{self.D1:.2f}). {self.flags() or 'Plateaus and approaches all inside the grid.'}")

    def step2_table(self) -> pd.DataFrame:
        """Step 2 per K (the index): the λ at which D came within the threshold (or the grid's last), C and D."""
        return pd.DataFrame([{"K": s["k"], "L": s["l"], "chosen λ": s["lam"], "C": s["C"], "D": s["D"],
                              "D / step-1 D − 1": s["D"] / self.D1 - 1, "approached": s["approached"]}
                             for s in self.step2]).set_index("K")


def choose_lambda(score, k: int, l: int, lams, target: float, xi_approach: float) -> dict:
    """Step 2's inner loop at (K, L): the first λ whose D is within ``xi_approach`` of ``target``.

    Evaluates λ in order and stops there; if none approaches, the largest λ is used (``approached`` False).
    """
    tried = []
    for lam in lams:
        c, d = score(k, l, lam)
        tried.append((float(lam), c, d))
        if (d - target) / abs(target) <= xi_approach:
            return {"k": k, "l": l, "lam": float(lam), "C": c, "D": d, "approached": True, "tried": tried}
    lam, c, d = tried[-1]
    return {"k": k, "l": l, "lam": lam, "C": c, "D": d, "approached": False, "tried": tried}


def select(score, total_dims, lams, xi: float, window: int = 1, xi_approach: float | None = None,
           k_max: int | None = None, total: int | None = None) -> Selection:
    """Algorithm 1 with the definitions of this module; ``score(k, l, lam) -> (C, D)``.

    Step 1 evaluates ``score(0, d, 0.0)`` for d in ``total_dims`` (increasing) until D plateaus
    (threshold ``xi``, ``window``). Step 2 runs at K + L = that d, or at ``total`` when given (the target
    D is then step 1's D at ``total``): K = 1, 2, … (at most ``k_max`` and K + L), λ from ``lams`` until D
    is within ``xi_approach`` (default ``xi``) of the target, until C plateaus. Configurations are
    evaluated lazily, in the algorithm's order, and only as far as it needs them.
    """
    total_dims = [int(d) for d in total_dims]
    lams = [float(v) for v in lams]
    if not total_dims or any(b <= a for a, b in zip(total_dims, total_dims[1:])) or total_dims[0] < 1:
        raise ValueError(f"total_dims must be increasing positive integers, got {total_dims}")
    if not lams or any(b <= a for a, b in zip(lams, lams[1:])) or lams[0] <= 0:
        raise ValueError(f"lams must be increasing positive values, got {lams}")
    xi_approach = xi if xi_approach is None else xi_approach

    step1, index = [], None
    for d in total_dims:
        step1.append((d, score(0, d, 0.0)[1]))
        index = plateau_index([v for _, v in step1], xi, window)
        if index is not None:
            break
    step1_plateau = index is not None
    step1_total = step1[index][0] if step1_plateau else step1[-1][0]
    run_total = step1_total if total is None else int(total)
    if run_total < 1:
        raise ValueError(f"total must be at least 1, got {run_total}")
    target = score(0, run_total, 0.0)[1]

    k_top = run_total if k_max is None else min(k_max, run_total)
    step2, index = [], None
    for k in range(1, k_top + 1):
        step2.append(choose_lambda(score, k, run_total - k, lams, target, xi_approach))
        index = plateau_index([s["C"] for s in step2], xi, window, increasing=True)
        if index is not None:
            break
    step2_plateau = index is not None
    chosen = step2[index] if step2_plateau else step2[-1]
    return Selection(k=chosen["k"], l=chosen["l"], lam=chosen["lam"], total=run_total, step1_total=step1_total,
                     D1=target, step1=step1, step2=step2, step1_plateau=step1_plateau,
                     step2_plateau=step2_plateau)


def paper_curve_selection(curves: dict, xi: float, window: int = 1, xi_approach: float | None = None) -> dict:
    """Our definitions applied to the paper's published tuning curves (``PAPER_CURVES[...]``).

    Step 1 on D vs K + L; step 2's C plateau on C vs K; λ from the λ curve against the step-1 D at the
    paper's chosen K + L (the curves exist at that K + L only). Returns K + L, K and λ (None when the
    curve never plateaus or approaches) with the paper's choice beside them.
    """
    xi_approach = xi if xi_approach is None else xi_approach
    i = plateau_index(curves["D_total"], xi, window)
    j = plateau_index(curves["C_k"], xi, window, increasing=True)
    k, l, lam = curves["chosen"]
    target = curves["D_total"][curves["total_dims"].index(k + l)]
    a = approach_index(curves["D_lam"], target, xi_approach)
    return {"K + L": None if i is None else curves["total_dims"][i],
            "K": None if j is None else curves["k_values"][j],
            "λ": None if a is None else curves["lams"][a],
            "paper K + L": k + l, "paper K": k, "paper λ": lam}


def tuning_trends(total_dims, d_total, c_k, lams, d_lam) -> dict:
    """The trends Algorithm 1 relies on, for our curves or the paper's: Spearman ρ of D with K + L (step 1),
    the range of C over K relative to its mean (step 2) and Spearman ρ of D with λ."""
    return {"ρ(D, K + L)": spearman(total_dims, d_total), "C range / mean": (max(c_k) - min(c_k)) / np.mean(c_k),
            "ρ(D, λ)": spearman(lams, d_lam)}


def paper_trends(curves: dict | None) -> dict:
    """``tuning_trends`` of a ``PAPER_CURVES`` entry, rounded to 3 digits; all None without curves."""
    if curves is None:
        return dict.fromkeys(("ρ(D, K + L)", "C range / mean", "ρ(D, λ)"))
    trends = tuning_trends(curves["total_dims"], curves["D_total"], curves["C_k"], curves["lams"], curves["D_lam"])
    return {name: round(value, 3) for name, value in trends.items()}


@dataclass
class TuningRun:
    """Algorithm 1's selection on a grid of trained configurations (``tune``), with the grid kept."""
    selection: Selection
    table: ScoreTable     # lookup-only: every configuration trained
    total_dims: list[int]
    lams: list[float]
    xi: float
    window: int
    k_max: int | None
    k_values: list[int]   # the K trained at the step-2 K + L, each with every λ
    visited: int          # configurations the algorithm itself asked for

    def reselect(self, xi: float, xi_approach: float | None = None) -> Selection:
        """The selection at other thresholds, from the trained models only (step 2 at the same K + L)."""
        return select(self.table, self.total_dims, self.lams, xi, self.window, xi_approach=xi_approach,
                      k_max=self.k_max, total=self.selection.total)

    def thresholds(self, xi_values, paper_curves: dict | None = None) -> pd.DataFrame:
        """One row per ξ (plateau and approach threshold alike): what step 1 alone would pick, the selection
        at the trained K + L and, with ``paper_curves``, the same definitions applied to the paper's curves."""
        rows = []
        for xi in xi_values:
            s = self.reselect(xi)
            row = {"ξ": xi, "step 1 K + L": s.step1_total, "K": s.k, "L": s.l, "λ": s.lam, "flags": s.flags()}
            if paper_curves:
                ours_on_paper = paper_curve_selection(paper_curves, xi, self.window)
                row.update({f"paper curves: {key}": value for key, value in ours_on_paper.items()
                            if not key.startswith("paper")})
            rows.append(row)
        return pd.DataFrame(rows)

    def approach_thresholds(self, xi_values) -> pd.DataFrame:
        """One row per approach threshold, the plateau threshold held at ``xi``: the λ chosen for each K (an
        asterisk where the grid ended first) and the selection."""
        rows = []
        for x in xi_values:
            s = self.reselect(self.xi, xi_approach=x)
            chosen = {f"λ at K = {t['k']}": f"{t['lam']:g}" + ("" if t["approached"] else "*") for t in s.step2}
            rows.append({"approach threshold": x, **chosen, "selected (K, L, λ)": str(s.choice)})
        return pd.DataFrame(rows)

    def choices(self, paper_choice, reproductions: dict) -> pd.DataFrame:
        """Our (K, L, λ) beside the paper's and the reproductions'."""
        return pd.DataFrame({"ours": self.selection.choice, "paper": paper_choice, **reproductions},
                            index=["K", "L", "λ"], dtype=object).T

    def trends(self) -> dict:
        """``tuning_trends`` of our curves: step 1's D, C of the K step 2 visited (each at its chosen λ) and
        D against λ at K = 1."""
        sel = self.selection
        return tuning_trends(self.total_dims, [self.table(0, d, 0.0)[1] for d in self.total_dims],
                             [s["C"] for s in sel.step2], self.lams,
                             [self.table(1, sel.total - 1, lam)[1] for lam in self.lams])


def tune(score, total_dims, lams, xi: float, window: int = 1, k_max: int | None = None,
         total: int | None = None) -> TuningRun:
    """Algorithm 1 (``select``) on a live ``score``, then the rest of the step-2 grid.

    Step 1's model is trained for every K + L of ``total_dims`` (and ``total``), the algorithm trains the
    step-2 configurations it asks for in its own order, and finally every K up to ``k_max`` with every λ at
    the chosen K + L is trained, so that the curves can be drawn and the choice recomputed for other
    thresholds without training (``TuningRun``).
    """
    total_dims, lams = [int(d) for d in total_dims], [float(v) for v in lams]
    table = ScoreTable(score)
    for d in total_dims + ([total] if total else []):
        table(0, d, 0.0)
    selection = select(table, total_dims, lams, xi, window, k_max=k_max, total=total)
    visited = len(table.table)
    k_values = list(range(1, (selection.total if k_max is None else min(k_max, selection.total)) + 1))
    for k in k_values:
        for lam in lams:
            table(k, selection.total - k, lam)
    run = TuningRun(selection, table.frozen(), total_dims, lams, xi, window, k_max, k_values, visited)
    if run.reselect(xi).choice != selection.choice:  # step 2 at the chosen K + L must not depend on the extra models
        raise RuntimeError("the selection changed once the whole grid was trained")
    return run
