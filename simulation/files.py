"""Writing results: atomic files, staged folders, and output folders that never lose a user's files.

Every file bordersim writes goes through :func:`write_atomic` (a temporary
file in the same folder, renamed into place), so a crash leaves either the
old file or the new one. Every output folder (``--out``) is claimed with
:func:`claim_output_dir`, which refuses, with :class:`OutputError`, to write
into or replace anything bordersim did not write: a plain file, or a
non-empty folder without bordersim's mark. A folder bordersim wrote carries a
small ``.bordersim.json`` mark naming the command that wrote it (and, for a
folder built whole, every file in it, so that replacing it never deletes a
file someone added later, even in a subfolder).
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

#: The checkout bordersim runs from (its scenarios/ and data/ are never an output folder). files sits below
#: data in the layers, so it works this out itself rather than import data.REPO_ROOT.
_REPO_ROOT = Path(__file__).resolve().parent.parent


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

    The rule for numbers: floats are written with ``float_format`` (4 decimals), except a float column whose
    values are all whole numbers (up to floating-point noise: 7 / 0.005 is 1400.0000000000002): it is written
    as integers (``1400``, not ``1400.0000``; an empty cell stays empty). Counts are persons = simulated
    persons / scale, so they are whole exactly when 1/scale is a whole number (scale 0.005, 0.01, 0.02...); at
    other scales, or for means and money that are not whole, the decimals stay.
    """
    return _whole_floats_as_integers(df).to_csv(index=False, float_format=float_format, lineterminator="\n").encode()


def _whole_floats_as_integers(df):
    import numpy as np

    out = None
    for col in df.columns:
        values = df[col]
        if values.dtype.kind != "f":
            continue
        finite = values.dropna()
        if not len(finite) or not np.isfinite(finite).all() or (finite.abs() >= 2**53).any():
            continue
        whole = finite.round()
        if ((finite - whole).abs() > 1e-9 * np.maximum(1.0, finite.abs())).any():
            continue
        if out is None:
            out = df.copy()
        out[col] = values.round().astype("Int64" if values.isna().any() else "int64")
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


def _ours_temporary(name: str) -> bool:
    """A temporary file or folder of an interrupted bordersim write (``.NAME.XXXX.tmp``, ``.partial``, ``.old``)."""
    return name.startswith(".") and name.endswith((".tmp", ".partial", ".old"))


def _foreign(folder: Path, mark: dict | None, deep: bool = False) -> list[str]:
    """Entries of ``folder`` bordersim did not write (by its mark; temporary files of an interrupted write count as ours).

    ``deep``: also look inside the subfolders, against the mark's list of every file (``tree``), when it has one.
    """
    ours = set(mark.get("entries", [])) | {MARK} if mark else set()
    found = sorted(p.name for p in folder.iterdir() if p.name not in ours and not _ours_temporary(p.name))
    tree = set(mark.get("tree", [])) if mark else set()
    if deep and tree:
        for sub in sorted(p for p in folder.iterdir() if p.name in ours and p.is_dir() and not p.is_symlink()):
            for path in sorted(sub.rglob("*")):
                rel = path.relative_to(folder).as_posix()
                if rel not in tree and not _ours_temporary(path.name):
                    found.append(rel)
    return found


def _check_dotdot(path: Path, flag: str) -> None:
    """Refuse a '..' after a folder that does not exist yet: the path means nothing now, and something else
    once the folders are created (``missing/../notes`` would become ``notes`` and replace it unchecked)."""
    prefix, parts = (Path(path.anchor), path.parts[1:]) if path.anchor else (Path(), path.parts)
    for part in parts:
        if part == ".." and not prefix.exists():
            raise OutputError(f"{flag} {path}: '..' follows {prefix}, which does not exist; write the path without '..'")
        prefix = prefix / part


def _check_path(out: Path) -> None:
    """Refuse an --out that cannot be a folder of ours whatever it holds: a symbolic link, a path ending in '..',
    a path under a file, the current folder or one holding it, or bordersim's own scenarios/ and data/."""
    if out.is_symlink():
        what = "a broken symbolic link" if not out.exists() else f"a symbolic link (to {os.readlink(out)})"
        raise OutputError(f"--out {out}: is {what}; bordersim will not write through or replace it. "
                          "Give the folder itself, or a new folder")
    if out.name == "..":
        raise OutputError(f"--out {out}: ends in '..'; name the output folder itself (e.g. --out results/run1)")
    _check_dotdot(out, "--out")
    for parent in out.absolute().parents:  # the nearest existing ancestor must be a folder
        if parent.is_symlink() and not parent.exists():
            raise OutputError(f"--out {out}: {parent} is a broken symbolic link; choose another --out")
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"--out {out}: {parent} is a file, not a folder; choose another --out")
            break
    where = out.resolve()
    if where == Path.cwd().resolve() or where in Path.cwd().resolve().parents:
        raise OutputError(f"--out {out}: is the current folder or holds it; bordersim builds its output folder "
                          "beside the old one and swaps them. Name a new folder, e.g. --out results/run1")
    for inputs in (_REPO_ROOT / "scenarios", _REPO_ROOT / "data"):
        if where == inputs or inputs in where.parents:
            raise OutputError(f"--out {out}: is inside bordersim's own inputs ({inputs}); results there would "
                              "mix with them. Choose a folder elsewhere, e.g. --out results/run1")


def claim_output_dir(out: Path, command: str, *, replace: bool = False, force: bool = False) -> Path:
    """Check that ``out`` may be written by ``command``; return it.

    * missing, or an empty folder: fine;
    * a folder bordersim wrote for the same command: fine (``replace=True``:
      its content will be replaced, which needs ``force`` unless told otherwise);
    * anything else (a plain file, a folder with files bordersim did not write,
      even in a subfolder when ``replace``, a folder another command wrote, a
      symbolic link, a path under a file, the current folder, bordersim's own
      ``scenarios/`` or ``data/``): :class:`OutputError`, whatever ``force`` says.
    """
    out = Path(out)
    _check_path(out)
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
    foreign = _foreign(out, mark, deep=replace)
    if foreign:
        raise OutputError(f"--out {out}: also holds files bordersim did not write ({', '.join(foreign[:5])}); "
                          "move them away or choose another --out (even --force does not replace them)")
    if replace and not force:
        raise OutputError(f"--out {out}: already holds a bordersim {command} output; "
                          "use --force to replace it, or choose another --out")
    return out


def claim_existing_dir(folder: Path, command: str) -> Path:
    """Check that ``folder`` is a folder ``command`` wrote, holding nothing else, before writing into it again
    (``bordersim report DIR``). Returns it; :class:`OutputError` if not."""
    folder = Path(folder)
    if not folder.exists():
        raise OutputError(f"{folder}: no such folder; give a folder written by 'bordersim {command}'")
    if not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not a folder written by 'bordersim {command}'")
    mark = read_mark(folder)
    if mark is None:
        raise OutputError(f"{folder}: is not a folder written by 'bordersim {command}' (it has no {MARK}); "
                          f"bordersim will not write there. Run 'bordersim {command} ... --out NEW_FOLDER' first")
    if mark.get("command") != command:
        raise OutputError(f"{folder}: holds the output of 'bordersim {mark.get('command')}', not of "
                          f"'bordersim {command}'; give a folder written by 'bordersim {command}'")
    foreign = _foreign(folder, mark)
    if foreign:
        raise OutputError(f"{folder}: also holds files bordersim did not write ({', '.join(foreign[:5])}); "
                          "move them away first")
    return folder


def mark_folder(folder: Path, command: str, entries: list[str] | None = None) -> None:
    """Leave bordersim's mark in ``folder``: the command and the entries it wrote.

    ``entries=None``: the folder was built whole by bordersim (a staged folder): every entry there now, and
    every file and subfolder below them (``tree``), so that replacing it later can tell a file added since.
    """
    folder = Path(folder)
    names = sorted(p.name for p in folder.iterdir() if p.name != MARK) if entries is None else sorted(entries)
    old = read_mark(folder) or {}
    merged = sorted(set(old.get("entries", [])) | set(names)) if old.get("command") == command else names
    mark = {"written_by": "bordersim", "command": command, "entries": merged}
    if entries is None:
        mark["tree"] = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.name != MARK)
    if mark != old:
        write_json(folder / MARK, mark)


def claim_output_file(path: Path, flag: str, written_by: str) -> Path:
    """Check that a single output file (``--docs``) may be written: new, or a file bordersim wrote (it holds
    ``written_by``); not a folder, a symbolic link or a path under a file. Returns it; :class:`OutputError` if not."""
    path = Path(path)
    if path.is_symlink():
        raise OutputError(f"{flag} {path}: is a symbolic link; bordersim will not replace it. Give the file itself")
    if path.is_dir():
        raise OutputError(f"{flag} {path}: is a folder, not a file; name the page to write, e.g. {flag} docs/page.md")
    _check_dotdot(path, flag)
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{flag} {path}: {parent} is a file, not a folder; choose another {flag}")
            break
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as e:
            raise OutputError(f"{flag} {path}: cannot read it ({e.strerror}) to check that bordersim wrote it") from None
        if written_by not in text:
            raise OutputError(f"{flag} {path}: exists and was not written by bordersim (no '{written_by}' in it); "
                              f"bordersim will not replace it. Move it away or choose another {flag}")
    return path


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
        # a fresh, empty name for the old folder (rename replaces an empty folder), never someone's '.NAME.old'
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
        os.replace(out, old)
        os.replace(stage, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(stage, out)
