"""A posterior sample of the fitted parameters, as the runner uses it: one parameter set per replication.

``bordersim calibrate`` writes ``posterior.csv``: one row per parameter set,
a column per key path (``behaviour.asc_roxham``...), a ``weight`` column (and
its ``discrepancy``). A comparison with ``--posterior FILE`` gives replication
``i`` of every option the same parameter set, resampled by weight from the
master seed, so differences between options stay paired.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import EnsembleError

#: Columns of posterior.csv that are not parameters.
NOT_PARAMETERS = ("weight", "discrepancy")


def load_posterior(path: str | Path) -> pd.DataFrame:
    """Read and check a posterior file; the message of an error names the file, the column and what is wrong."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise EnsembleError(f"--posterior {path}: file not found (bordersim calibrate writes posterior.csv)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise EnsembleError(f"--posterior {path}: not a readable CSV ({e})") from None
    if "weight" not in df.columns:
        raise EnsembleError(f"--posterior {path}: no 'weight' column; expected key-path columns and 'weight'")
    params = [c for c in df.columns if c not in NOT_PARAMETERS]
    if not params or len(df) == 0:
        raise EnsembleError(f"--posterior {path}: no parameter columns or no rows")
    for c in params + ["weight"]:
        if not pd.api.types.is_numeric_dtype(df[c]) or not np.isfinite(df[c]).all():
            raise EnsembleError(f"--posterior {path}: column {c!r} holds a value that is not a finite number")
        if "." not in c and c != "weight":
            raise EnsembleError(f"--posterior {path}: column {c!r} is not a key path such as behaviour.asc_roxham")
    if (df["weight"] < 0).any() or df["weight"].sum() <= 0:
        raise EnsembleError(f"--posterior {path}: weights must be >= 0 with a positive sum")
    df.attrs["file"] = str(path)
    return df


def parameters(posterior: pd.DataFrame) -> list[str]:
    return [c for c in posterior.columns if c not in NOT_PARAMETERS]


def digest(posterior: pd.DataFrame) -> str:
    """A short hash of the parameter sets and weights (replications made with another posterior are not reused)."""
    cols = parameters(posterior) + ["weight"]
    return hashlib.sha256(posterior[cols].to_csv(index=False, float_format="%.12g").encode()).hexdigest()[:10]


def draws(posterior: pd.DataFrame, master_seed: int, reps: int) -> list[dict[str, float]]:
    """The parameter set of each replication: ``reps`` rows resampled by weight, from the master seed."""
    rng = np.random.default_rng(np.random.SeedSequence([int(master_seed), 0x9E37]))  # a stream of its own
    w = posterior["weight"].to_numpy(float)
    rows = rng.choice(len(posterior), size=reps, replace=True, p=w / w.sum())
    cols = parameters(posterior)
    return [{"row": int(r), **{c: float(posterior[c].iloc[r]) for c in cols}} for r in rows]
