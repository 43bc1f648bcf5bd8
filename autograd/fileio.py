"""The project's one way to write a file atomically: readers see the old file or the new one, never half.

`write_atomically(path, data)` writes to a temporary file in the target's directory, flushes it to
disk (fsync), then renames it over the target (`os.replace`, atomic on POSIX and Windows). It
- removes its temporary file on every failure (an exception, KeyboardInterrupt, a full disk);
- removes the temporary files that earlier saves of the same target left when they were killed
  (SIGKILL, power loss), so that leftovers never accumulate: a temporary file is named
  `.<name>.<pid>.<random>.tmp` and removed once its process is gone (and, on POSIX, it is not locked);
- keeps the permission bits of the file it replaces; a new file gets 0o666 minus the umask, as
  `open(path, "w")` would give it;
- writes through a symbolic link to the link's target (the link stays a link).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat

try:  # POSIX: a writer holds a lock on its temporary file, so a cleaner never takes a live one
    import fcntl
except ImportError:  # Windows: an open file cannot be deleted, which protects a live one the same way
    fcntl = None  # type: ignore[assignment]

__all__ = ["write_atomically"]

# Temporary files of this process still being written (another thread may save the same target).
_ACTIVE: set[str] = set()


def write_atomically(path: str | os.PathLike[str], data: bytes | str, encoding: str = "utf-8") -> None:
    """Write `data` (bytes, or text encoded with `encoding`) to `path` atomically; see the module doc."""
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"write_atomically: expected bytes or str, got {type(data).__name__}")
    target = os.path.realpath(os.fspath(path))  # through symlinks: replace the file, not the link
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write {os.fspath(path)!r}: no such directory", directory
        )
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None  # a new file: os.open's 0o666 with the umask applied by the system
    _remove_stale(directory, name)
    fd, tmp = _create_temporary(directory, name)
    try:
        try:
            view = memoryview(data)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.chmod(tmp, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        _ACTIVE.discard(tmp)
    _fsync_directory(directory)


def _create_temporary(directory: str, name: str) -> tuple[int, str]:
    """A new, locked temporary file `.<name>.<pid>.<random>.tmp` in `directory`: (fd, path)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(directory, f".{name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        _ACTIVE.add(tmp)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else can hold it
        return fd, tmp


def _remove_stale(directory: str, name: str) -> None:
    """Delete temporary files of `name` whose writer is gone (killed during an earlier save)."""
    pattern = re.compile(re.escape(f".{name}.") + r"(\d+)\.[0-9a-f]{12}\.tmp")
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        tmp = os.path.join(directory, entry)
        if tmp in _ACTIVE or _process_alive(int(match.group(1))):
            continue
        _remove_if_unlocked(tmp)


def _process_alive(pid: int) -> bool:
    """Whether a process with this id exists (False on Windows, where an open file cannot be removed)."""
    if pid == os.getpid():
        return False  # our own temporaries that are not in _ACTIVE were left by a failed cleanup
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # it exists (another user's) or we cannot tell: keep its file
    return True


def _remove_if_unlocked(tmp: str) -> None:
    """Remove `tmp` unless a live writer holds its lock (or, on Windows, has it open)."""
    if fcntl is None:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # locked: its writer is alive (another PID namespace, for instance)
        try:
            os.unlink(tmp)
        except OSError:
            pass
    finally:
        os.close(fd)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
