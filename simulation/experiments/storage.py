"""Stored replications: one Parquet file per replication, with a checksum, read back or recomputed.

Each replication is written on its own, atomically, to
``OUT/reps/<scenario>-<digest>-scale<s>-seed<master>/rep-<i>.parquet`` (Parquet:
typed columns, compact, and a file is either whole or unreadable, which
makes a torn or corrupted file easy to detect). Each file also carries a
SHA-256 of its table in the Parquet metadata, checked on reading: Parquet has
no checksum of its own by default, and some flipped bits leave a file
readable but wrong. pyarrow is imported only when a file is written or read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..scenario import Scenario

CHECKSUM_KEY = b"bordersim_sha256"


def rep_dir(out: Path, sc: Scenario, posterior: str = "") -> Path:
    """Where a scenario's replications live: keyed by its content, scale, master seed and posterior (its digest,
    when replications draw their parameters from one), so a rerun never picks up replications made differently."""
    tag = f"-post{posterior}" if posterior else ""
    return Path(out) / "reps" / f"{sc.name}-{sc.digest()}-scale{sc.run.scale:g}-seed{sc.run.seed}{tag}"


def rep_path(out: Path, sc: Scenario, rep: int, posterior: str = "") -> Path:
    return rep_dir(out, sc, posterior) / f"rep-{rep:04d}.parquet"


def _table_digest(df: pd.DataFrame) -> bytes:
    return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest().encode()


def encode_rep(monthly: pd.DataFrame) -> bytes:
    """Parquet bytes of a replication, with the SHA-256 of its table in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(monthly, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), CHECKSUM_KEY: _table_digest(monthly)})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def read_rep(path: Path) -> pd.DataFrame | None:
    """A stored replication, or None if it is missing, unreadable or fails its checksum (then it is recomputed)."""
    try:
        import pyarrow.parquet as pq

        stored = (pq.read_schema(path).metadata or {}).get(CHECKSUM_KEY)
        df = pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - any unreadable file is recomputed, whatever the reason
        return None
    return df if stored is not None and stored == _table_digest(df) else None
