"""The atomic-write helper: contents, failures leave nothing behind, stale temporaries, modes, symlinks."""

import os
import stat
import subprocess
import sys

import pytest

from autograd import fileio
from autograd.fileio import write_atomically

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits and signals")


def temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


@pytest.fixture
def umask():
    """Run with a known umask (and restore the caller's)."""
    old = os.umask(0o027)
    yield 0o027
    os.umask(old)


def test_writes_bytes_and_text(tmp_path):
    path = tmp_path / "a.bin"
    write_atomically(path, b"\x00\xffbytes")
    assert path.read_bytes() == b"\x00\xffbytes"
    write_atomically(str(path), "text é")
    assert path.read_text(encoding="utf-8") == "text é"
    assert os.listdir(tmp_path) == ["a.bin"]
    with pytest.raises(TypeError, match="bytes or str"):
        write_atomically(path, 3.0)


@pytest.mark.parametrize("error", [OSError("disk unplugged"), KeyboardInterrupt()])
def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    path = tmp_path / "model.json"
    path.write_bytes(b"old")

    def fail(fd):
        raise error

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(type(error)):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_missing_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory") as info:
        write_atomically(tmp_path / "nodir" / "n.svg", b"x")
    assert info.value.filename == str(tmp_path / "nodir")


def test_a_directory_in_the_way_fails_cleanly(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        write_atomically(tmp_path / "taken", b"x")
    assert os.listdir(tmp_path) == ["taken"]


@posix_only
def test_new_files_get_0666_minus_the_umask(tmp_path, umask):
    write_atomically(tmp_path / "new.json", b"{}")
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o666 & ~umask


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o640, 0o444, 0o755])
def test_a_replaced_file_keeps_its_mode(tmp_path, umask, mode):
    path = tmp_path / "kept.json"
    path.write_bytes(b"old")
    os.chmod(path, mode)
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


@posix_only
def test_writes_through_a_symlink_and_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "model.json"
    real.parent.mkdir()
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    chain = tmp_path / "chain.json"
    chain.symlink_to(link)
    write_atomically(chain, b"new")
    assert chain.is_symlink() and link.is_symlink() and not real.is_symlink()
    assert real.read_bytes() == b"new" and stat.S_IMODE(os.stat(real).st_mode) == 0o640
    assert temporaries(tmp_path) == temporaries(real.parent) == []
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "created.json")
    write_atomically(dangling, b"made")
    assert dangling.is_symlink() and (tmp_path / "real" / "created.json").read_bytes() == b"made"


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: its pid names no process now
    return child.pid


@posix_only
def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    path = tmp_path / "m.json"
    stale = tmp_path / f".m.json.{_dead_pid()}.0123456789ab.tmp"
    stale.write_bytes(b"half")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".m.json.{sleeper.pid}.ba9876543210.tmp"
        live.write_bytes(b"in progress")
        other_target = tmp_path / f".other.json.{_dead_pid()}.0123456789ab.tmp"
        other_target.write_bytes(b"not ours")
        unrelated = tmp_path / ".m.json.notes.tmp"
        unrelated.write_bytes(b"the user's")
        write_atomically(path, b"new")
        assert not stale.exists()
        assert live.exists() and other_target.exists() and unrelated.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    write_atomically(path, b"newer")
    assert not live.exists()  # its writer is gone now
    assert path.read_bytes() == b"newer"


@posix_only
def test_a_locked_temporary_is_kept_even_if_its_pid_looks_dead(tmp_path):
    # Another PID namespace (a container sharing the folder) can make a live writer's pid look dead:
    # the lock it holds still protects its file.
    pid = _dead_pid()
    tmp = tmp_path / f".m.json.{pid}.0123456789ab.tmp"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'wb'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('locked', flush=True); time.sleep(60)",
            str(tmp),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        write_atomically(tmp_path / "m.json", b"x")
        assert tmp.exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    write_atomically(tmp_path / "m.json", b"y")
    assert not tmp.exists()


def test_temporary_names_carry_the_pid_and_live_beside_the_target(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_atomically(tmp_path / "x.json", b"1")
    ((src, dst),) = seen
    assert os.path.dirname(src) == str(tmp_path) and dst == os.path.realpath(tmp_path / "x.json")
    assert os.path.basename(src).startswith(f".x.json.{os.getpid()}.")
    assert not fileio._ACTIVE
