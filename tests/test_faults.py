"""Faults: killed workers and parents, a read-only output folder, a full disk, corrupted replication files.

The read-only folder and the full disk are real where the machine allows it: the command runs in its own
mount namespace (``unshare -m``) with the output folder bind-mounted read-only, or on a 512 KiB tmpfs
filled to the brim; those tests are skipped where mounting is not permitted. They are also simulated in
process (PermissionError / OSError(ENOSPC) raised from the writes), which runs everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

import simulation.experiments.ensemble as ens
import simulation.files as outputs
from simulation.present.cli import main
from simulation.data import REPO_ROOT
from simulation.experiments.storage import read_rep

REPS = 4
COMMON = ["--seed", "3", "--scale", "0.002", "--quiet", "--no-plots"]


@pytest.fixture(scope="module")
def files(short_pair) -> list[str]:
    protocol, no_protocol = short_pair
    return [str(no_protocol), str(protocol)]


def compare_args(files, out, reps=REPS, workers=1) -> list[str]:
    return ["compare", *files, "--reps", str(reps), "--workers", str(workers), "--out", str(out), *COMMON]


@pytest.fixture(scope="module")
def full(files, tmp_path_factory) -> Path:
    """The uninterrupted run every interrupted one must end up identical to."""
    out = tmp_path_factory.mktemp("full") / "out"
    assert main(compare_args(files, out)) == 0
    return out


def reps_on_disk(out: Path) -> list[Path]:
    return sorted(Path(out).glob("reps/*/*.parquet"))


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def start_cli(args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simulation.present.cli", *args], cwd=REPO_ROOT, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_files(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and len(reps_on_disk(out)) < n and proc.poll() is None:
        time.sleep(0.005)


def pool_workers(proc: subprocess.Popen) -> list[psutil.Process]:
    kids = psutil.Process(proc.pid).children(recursive=True)
    return [k for k in kids if "spawn_main" in " ".join(k.cmdline())]


def gone(procs, timeout: float = 10) -> bool:
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    still = []
    for p in alive:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                still.append(p)
        except psutil.NoSuchProcess:
            pass
    return not still


# --- killed processes ------------------------------------------------------------


def test_killing_a_worker_then_rerunning_gives_the_uninterrupted_results(files, full, tmp_path, capsys):
    out = tmp_path / "killed"
    kill_after = random.Random().randint(1, 2 * REPS - 4)  # a random point: after 1 .. 4 of 8 replications
    print(f"\nkilling a worker after {kill_after} replications are on disk")
    proc = start_cli(compare_args(files, out, workers=2))
    wait_for_files(out, kill_after, proc)
    workers = pool_workers(proc)
    assert len(workers) == 2, "the pool's workers were not found"
    os.kill(workers[0].pid, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)  # the parent must not hang
    assert proc.returncode == 1, stderr
    assert "terminated abruptly" in stderr and "rerun the same command" in stderr and "Traceback" not in stderr
    assert not (out / "summary.csv").exists()
    assert gone(workers), "a pool worker outlived its parent"
    done_before = len(reps_on_disk(out))
    assert kill_after <= done_before < 2 * REPS
    capsys.readouterr()
    assert main(compare_args(files, out)) == 0
    assert f"{2 * REPS - done_before} replications run, {done_before} already on disk" in capsys.readouterr().out
    assert (out / "summary.csv").read_bytes() == (full / "summary.csv").read_bytes()


def test_killing_the_parent_alone_leaves_no_orphans_and_rerunning_gives_the_uninterrupted_results(files, full, tmp_path):
    """SIGKILL of the parent only (not its process group, as an OOM killer would do it)."""
    out = tmp_path / "orphaned"
    proc = start_cli(compare_args(files, out, workers=2))
    wait_for_files(out, random.Random().randint(1, 2 * REPS - 4), proc)
    workers = pool_workers(proc)
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert gone(workers, timeout=10), "pool workers kept running after their parent was killed"
    proc.communicate(timeout=30)  # the workers held the pipes: they are closed now
    assert len(reps_on_disk(out)) < 2 * REPS and not (out / "summary.csv").exists()
    assert main(compare_args(files, out)) == 0
    assert (out / "summary.csv").read_bytes() == (full / "summary.csv").read_bytes()


# --- storage faults ---------------------------------------------------------------


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"], capture_output=True)
    return probe.returncode == 0


MOUNTS = pytest.mark.skipif(not _can_mount(), reason="needs 'unshare -m' and mount (root with CAP_SYS_ADMIN)")


@MOUNTS
def test_read_only_output_folder_exits_2_naming_the_path_and_keeps_earlier_results(files, full, tmp_path):
    out = tmp_path / "ro"
    shutil.copytree(full, out)
    before = fingerprint(out)
    cli = " ".join([sys.executable, "-m", "simulation.present.cli", *compare_args(files, out, reps=REPS + 2)])
    for command in (cli, f"{sys.executable} -m simulation.present.cli sensitivity {files[1]} --params behaviour.w_cost "
                         f"--samples 2 --out {out}/sensitivity --quiet --workers 1"):
        done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                               f"mount --bind {out} {out} && mount -o remount,bind,ro {out} && exec {command}"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"bordersim: error: cannot write {out}/") and "Read-only file system" in done.stderr
        assert "Traceback" not in done.stderr
    assert fingerprint(out) == before


@MOUNTS
def test_full_disk_exits_2_at_once_and_keeps_earlier_results(files, full, tmp_path):
    """The earlier results on a 512 KiB tmpfs, filled but for 30 KiB: the first replication that does not fit stops the run."""
    earlier, after, mnt = tmp_path / "earlier", tmp_path / "after", tmp_path / "mnt"
    shutil.copytree(full, earlier)
    after.mkdir()
    mnt.mkdir()
    out = mnt / "out"  # the filler lives beside the results: bordersim never writes into a folder with others' files
    cli = " ".join([sys.executable, "-m", "simulation.present.cli", *compare_args(files, out, reps=REPS + 4)])
    script = f"""
        mount -t tmpfs -o size=512k tmpfs {mnt} && mkdir {out} && cp -a {earlier}/. {out}/ || exit 99
        avail=$(df --output=avail -k {mnt} | tail -1)
        dd if=/dev/zero of={mnt}/.filler bs=1k count=$((avail - 30)) status=none 2>/dev/null
        {cli}; rc=$?
        rm -f {mnt}/.filler; cp -a {out}/. {after}/; exit $rc
    """
    done = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr
    assert "no space left on device writing" in done.stderr and f"{out}/reps/" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("replication failed") == 0  # stopped at once
    kept = fingerprint(after)
    for name, digest in fingerprint(earlier).items():
        if name != "comparison.json":  # the manifest of the new request may be written; nothing else changes
            assert kept[name] == digest, name
    assert not [p for p in after.rglob("*.tmp")], "a partial file was left behind"
    assert len(reps_on_disk(after)) < 2 * (REPS + 4)


def _fail_writes(monkeypatch, out: Path, code: int, after: int = 0):
    """Make every write under ``out`` (after the first ``after`` ones) fail as the OS would, in this process.

    EACCES and EROFS come from creating the temporary file, which names it; ENOSPC comes from write(),
    which names no file."""
    real = outputs.write_atomic
    count = {"n": 0}

    def failing(path, content):
        if str(path).startswith(str(out)):
            count["n"] += 1
            if count["n"] > after:
                if code == errno.ENOSPC:
                    raise OSError(code, os.strerror(code))
                raise OSError(code, os.strerror(code), str(Path(path).parent / f".{Path(path).name}.x.tmp"))
        return real(path, content)

    monkeypatch.setattr(outputs, "write_atomic", failing)
    monkeypatch.setattr(ens, "write_atomic", failing)


@pytest.mark.parametrize("code, message", [
    (errno.EACCES, "permission denied"),
    (errno.ENOSPC, "no space left on device writing"),
    (errno.EROFS, "Read-only file system"),
], ids=["EACCES", "ENOSPC", "EROFS"])
@pytest.mark.parametrize("at", ["manifest", "replication"])
def test_simulated_storage_errors_exit_2_and_keep_earlier_results(files, full, tmp_path, monkeypatch, capsys, code, message, at):
    out = tmp_path / "o"
    shutil.copytree(full, out)
    before = fingerprint(out)
    _fail_writes(monkeypatch, out, code, after=0 if at == "manifest" else 1)
    assert main(compare_args(files, out, reps=REPS + 1)) == 2
    err = capsys.readouterr().err
    assert err.startswith("bordersim: error:") and message in err and err.count("\n") == 1
    if at == "replication" or code != errno.ENOSPC:
        assert f"{out}/" in err  # the path is named, even when write() itself named none
    monkeypatch.undo()
    after = fingerprint(out)
    assert all(after[k] == v for k, v in before.items() if k != "comparison.json")
    if at == "replication" and code == errno.ENOSPC:
        assert main(compare_args(files, out, reps=REPS + 1)) == 0  # once the disk has room, the rerun completes


# --- corrupted files ----------------------------------------------------------------


def _silent_flip(data: bytes, seed: int = 0) -> bytes:
    """A one-bit flip after which pandas still reads the file, but reads different numbers (found by trying)."""
    rng = np.random.default_rng(seed)
    original = pd.read_parquet(io.BytesIO(data))
    for _ in range(5000):
        b = bytearray(data)
        b[int(rng.integers(8, len(b) - 8))] ^= 1 << int(rng.integers(0, 8))
        try:
            df = pd.read_parquet(io.BytesIO(bytes(b)))
        except Exception:  # noqa: BLE001 - detected by the reader: not the case looked for
            continue
        if not df.equals(original):
            return bytes(b)
    raise AssertionError("no silent bit flip found")


CORRUPTIONS = {
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "garbage": lambda b: os.urandom(len(b)),
    "footer_lost": lambda b: b[:-8],
    "silent_bit_flip": _silent_flip,
}


def test_corrupted_replication_files_are_detected_and_recomputed(files, full, tmp_path, capsys):
    out = tmp_path / "corrupt"
    shutil.copytree(full, out)
    paths = reps_on_disk(out)
    for path, (name, corrupt) in zip(paths, CORRUPTIONS.items()):
        path.write_bytes(corrupt(path.read_bytes()))
        assert read_rep(path) is None, f"{name} corruption not detected"
    (out / "summary.csv").unlink()
    assert main(compare_args(files, out)) == 0
    assert f"{len(CORRUPTIONS)} replications run, {2 * REPS - len(CORRUPTIONS)} already on disk" in capsys.readouterr().out
    assert (out / "summary.csv").read_bytes() == (full / "summary.csv").read_bytes()
    assert all(read_rep(p) is not None for p in reps_on_disk(out))


def test_a_corrupted_manifest_gives_a_clean_error(full, tmp_path, capsys):
    out = tmp_path / "m"
    shutil.copytree(full, out)
    (out / "comparison.json").write_text('{"reference": "short_no')
    assert main(["report", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "comparison.json: unreadable" in err and "Traceback" not in err


def test_a_full_disk_names_the_manifest(files, full, tmp_path, monkeypatch, capsys):
    out = tmp_path / "o"
    shutil.copytree(full, out)
    real_fdopen = os.fdopen

    class Full(io.RawIOBase):
        def write(self, b):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, *a, **k):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(out)):
            os.close(fd)
            return Full()
        return real_fdopen(fd, *a, **k)

    monkeypatch.setattr(outputs.os, "fdopen", fdopen)
    assert main(compare_args(files, out, reps=REPS + 2)) == 2
    assert "comparison.json" in capsys.readouterr().err
