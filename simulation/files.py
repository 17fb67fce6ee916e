"""Writing results: atomic files, staged folders, and output folders that never lose a user's files.

Every file bordersim writes goes through :func:`write_atomic` (a temporary
file in the same folder, renamed into place), so a crash leaves either the
old file or the new one. Every output folder (``--out``) is claimed with
:func:`claim_output_dir`, which refuses, with :class:`OutputError`, to write
into or replace anything bordersim did not write: a plain file, or a
non-empty folder without bordersim's mark. A folder bordersim wrote carries a
small ``.bordersim.json`` mark naming the command that wrote it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

#: The mark bordersim leaves in every output folder it writes.
MARK = ".bordersim.json"


class OutputError(Exception):
    """An output path bordersim must not write to (it would replace or mix with files it did not write)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: bytes) -> None:
    """Write a file via a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and not e.filename:
            e.filename = str(path)  # so the message names the file, whatever failed
        raise


def write_json(path: Path, obj) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def to_csv_bytes(df, float_format: str = "%.4f") -> bytes:
    """CSV with a fixed float format, so the same table gives the same bytes.

    The rule for numbers: floats are written with 4 decimals, except a float column whose values, rounded to
    4 decimals, are all whole numbers: it is written as integers (``1400``, not ``1400.0000``; an empty cell
    stays empty). Counts are persons = simulated persons / scale, so they are whole exactly when 1/scale is
    a whole number (scale 0.005, 0.01, 0.02...); at other scales, or for means and money that are not
    whole, the 4 decimals stay.
    """
    return _whole_floats_as_integers(df).to_csv(index=False, float_format=float_format, lineterminator="\n").encode()


def _whole_floats_as_integers(df):
    import numpy as np

    out = None
    for col in df.columns:
        values = df[col]
        if values.dtype.kind != "f":
            continue
        rounded = values.round(4)
        finite = rounded.dropna()
        if not len(finite) or not np.isfinite(finite).all() or (finite.abs() >= 2**53).any() or (finite % 1 != 0).any():
            continue
        if out is None:
            out = df.copy()
        out[col] = rounded.astype("Int64" if rounded.isna().any() else "int64")
    return df if out is None else out


def save_figure(fig, path: Path, formats: tuple[str, ...] = ("png", "svg"), dpi: int = 130) -> list[Path]:
    """Save a matplotlib figure as ``path.png`` and ``path.svg``, atomically, and close it."""
    import io

    import matplotlib.pyplot as plt

    path = Path(path)
    out = []
    for ext in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=dpi, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        target = path.with_suffix("." + ext)
        write_atomic(target, buf.getvalue())
        out.append(target)
    plt.close(fig)
    return out


# --- output folders -------------------------------------------------------------


def read_mark(folder: Path) -> dict | None:
    """The mark of a folder bordersim wrote, or None."""
    try:
        return json.loads((Path(folder) / MARK).read_text())
    except (OSError, ValueError):
        return None


def _foreign(folder: Path, mark: dict | None) -> list[str]:
    """Entries of ``folder`` bordersim did not write (by its mark; temporary files of an interrupted write count as ours)."""
    ours = set(mark.get("entries", [])) | {MARK} if mark else set()
    return sorted(p.name for p in folder.iterdir()
                  if p.name not in ours and not (p.name.startswith(".") and p.name.endswith((".tmp", ".partial", ".old"))))


def claim_output_dir(out: Path, command: str, *, replace: bool = False, force: bool = False) -> Path:
    """Check that ``out`` may be written by ``command``; return it.

    * missing, or an empty folder: fine;
    * a folder bordersim wrote for the same command: fine (``replace=True``:
      its content will be replaced, which needs ``force`` unless told otherwise);
    * anything else (a plain file, a folder with files bordersim did not write,
      a folder another command wrote): :class:`OutputError`, whatever ``force`` says.
    """
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise OutputError(f"--out {out}: is a broken symbolic link; choose another --out")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: is a file, not a folder; bordersim will not replace it. "
                          "Choose another --out (a new or empty folder)")
    if not out.exists() or not any(out.iterdir()):
        return out
    mark = read_mark(out)
    if mark is None:
        shown = ", ".join(_foreign(out, None)[:5])
        raise OutputError(f"--out {out}: holds files bordersim did not write ({shown}); bordersim will not write there "
                          "or replace them. Choose a new or empty folder")
    if mark.get("command") != command:
        raise OutputError(f"--out {out}: holds the output of 'bordersim {mark.get('command')}', not of "
                          f"'bordersim {command}'; choose another --out")
    foreign = _foreign(out, mark)
    if foreign:
        raise OutputError(f"--out {out}: also holds files bordersim did not write ({', '.join(foreign[:5])}); "
                          "move them away or choose another --out (even --force does not replace them)")
    if replace and not force:
        raise OutputError(f"--out {out}: already holds a bordersim {command} output; "
                          "use --force to replace it, or choose another --out")
    return out


def mark_folder(folder: Path, command: str, entries: list[str] | None = None) -> None:
    """Leave bordersim's mark in ``folder``: the command and the entries it wrote (default: all there now)."""
    folder = Path(folder)
    names = sorted(p.name for p in folder.iterdir() if p.name != MARK) if entries is None else sorted(entries)
    old = read_mark(folder) or {}
    merged = sorted(set(old.get("entries", [])) | set(names)) if old.get("command") == command else names
    mark = {"written_by": "bordersim", "command": command, "entries": merged}
    if mark != old:
        write_json(folder / MARK, mark)


@contextmanager
def staged_directory(out: Path, command: str):
    """Build an output folder under a temporary name beside it and move it into place only on success.

    A run that fails leaves no partial folder; an existing folder (which the
    caller has checked with :func:`claim_output_dir`) is replaced only once the
    new one is complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    os.chmod(stage, 0o777 & ~_umask())
    try:
        yield stage
        mark_folder(stage, command)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, out)
