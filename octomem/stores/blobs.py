"""The original bytes of image and file parts (`media.keep_originals`), as files under the
data directory: ``<store_dir>/blobs/<user key>/<sha256>``.

- content-addressed: the same file sent twice is one blob, and a blob whose bytes do not
  hash to its name is damaged (`intact`);
- one directory per user, named by an HMAC of the user id under the id key
  (`octomem.id_key`): the name reveals no user id, a user's blobs are looked up only
  under that user's key, and forgetting the user removes the directory;
- crash-safe writes: a temporary file, fsync, atomic rename, fsync of the directory. A
  crash leaves at most a temporary file or a blob no record names yet (`octomem doctor
  --repair` removes both), never a half-written blob under its final name;
- removal overwrites a blob with zeros before unlinking it (`_shred`);
- `guard` (a lock of this process and a file lock of the directory) is held while a blob
  is looked for and written and while repair removes a directory no user claims: a blob
  found already there has its time refreshed under it, so repair never removes one that a
  write has just counted on.

What references a blob is the orchestrator's (`octomem.orchestrator.originals`). Every
method does blocking I/O: call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from octomem.errors import InvalidInputError, StoreError
from octomem.models import keyed_hash

try:
    import fcntl
except ImportError:  # Windows: the lock of this process alone
    fcntl = None  # type: ignore[assignment]

BLOBS_DIR = "blobs"
TEMP_SUFFIX = ".tmp"
LOCK_SUFFIX = ".lock"  # the lock file: beside the directory, holding nothing
_SHA256 = re.compile(r"[0-9a-f]{64}")
_READ = 1 << 20


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


class BlobStore:
    """The blob directory of one data directory (`root`), its user keys made with `id_key`."""

    def __init__(self, root: Path, id_key: bytes | None) -> None:
        self.root = root
        self._id_key = id_key
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Exclusive among this directory's writers and repair, in every process."""
        with self._lock:
            with self._failing("locking"):
                self.root.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                lock = self.root.with_name(self.root.name + LOCK_SUFFIX)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    with self._failing("locking"):
                        fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # releases the file lock

    @contextlib.contextmanager
    def _failing(self, what: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise StoreError(
                f"the blob directory {self.root} failed while {what}: {exc}; check that it is "
                f"a writable directory with free space"
            ) from exc

    def user_key(self, user_id: str | None) -> str:
        """The name of `user_id`'s directory."""
        return keyed_hash(self._id_key, "octomem-blobs", user_id)[:40]

    def _path(self, user_id: str | None, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise InvalidInputError(f"{sha256!r} is not a sha256 (64 lowercase hex digits)")
        return self.root / self.user_key(user_id) / sha256

    def put(self, user_id: str | None, sha256: str, data: bytes) -> bool:
        """Keep `data` as `user_id`'s blob `sha256`; False if an intact copy was there.
        InvalidInputError if the bytes do not hash to `sha256`."""
        path = self._path(user_id, sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise InvalidInputError(f"the bytes given for blob {sha256} do not hash to it")
        with self.guard(), self._failing(f"writing blob {sha256}"):
            if self.intact(path):
                os.utime(path)  # counted on now: young again for `originals.repair`
                return False
            self._write(path, data)
        return True

    def _write(self, path: Path, data: bytes) -> None:
        created = not path.parent.is_dir()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name[:16]}.", suffix=TEMP_SUFFIX
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        _fsync_dir(path.parent)
        if created:
            _fsync_dir(self.root)

    def get(self, user_id: str | None, sha256: str) -> bytes | None:
        """`user_id`'s blob `sha256`; None if there is none, or if its bytes are damaged
        (they do not hash to its name: `octomem doctor` reports it)."""
        path = self._path(user_id, sha256)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StoreError(f"the blob directory {self.root} failed while reading: {exc}") from exc
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def has_user(self, user_id: str | None) -> bool:
        return (self.root / self.user_key(user_id)).is_dir()

    def names(self, user_id: str | None) -> set[str]:
        """The file names in `user_id`'s directory (blobs and temporary files)."""
        return self.listing().get(self.user_key(user_id), set())

    def listing(self) -> dict[str, set[str]]:
        """Every user key's file names (blobs, temporary files, anything else found)."""
        if not self.root.is_dir():
            return {}
        return {
            folder.name: {f.name for f in folder.iterdir()}
            for folder in self.root.iterdir()
            if folder.is_dir()
        }

    def intact(self, path: Path) -> bool:
        """Whether `path` is a blob whose bytes hash to its name."""
        if not is_sha256(path.name):
            return False
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_READ):
                    digest.update(chunk)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return False
        return digest.hexdigest() == path.name

    def file(self, user_key: str, name: str) -> Path:
        return self.root / user_key / name

    def remove(self, user_key: str, names: Iterable[str]) -> int:
        """Remove these files of the user key's directory (and the directory once empty);
        how many were there."""
        folder = self.root / user_key
        removed = 0
        with self._failing("removing blobs"):
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    _shred(folder / name)
                    removed += 1
        if removed:
            with contextlib.suppress(OSError):  # not empty: a blob is still referenced
                folder.rmdir()
            _fsync_dir(self.root)
        return removed

    def remove_user(self, user_id: str | None) -> int:
        """Remove `user_id`'s directory; how many files it held."""
        folder = self.root / self.user_key(user_id)
        if not folder.is_dir():
            return 0
        with self._failing("removing a user's blobs"):
            files = list(folder.iterdir())
            for path in files:
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    _shred(path)
            shutil.rmtree(folder)
        count = len(files)
        _fsync_dir(self.root)
        return count

    def clear(self) -> None:
        """Remove every user's blobs (`reset`)."""
        if self.root.is_dir():
            with self._failing("removing every blob"):
                for path in self.root.glob("*/*"):
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        _shred(path)
                shutil.rmtree(self.root)


def _shred(path: Path) -> None:
    """Overwrite a file with zeros, then remove it: its bytes do not stay in the file
    system's free space for the next file to be given (as the SQLite stores'
    `secure_delete` does for deleted rows; a copy-on-write file system or an SSD's
    remapping may still keep old blocks)."""
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        while size > 0:
            step = min(size, _READ)
            handle.write(bytes(step))
            size -= step
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink in `path` durable (where the platform can)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # e.g. Windows: directories cannot be fsynced
        pass
    finally:
        os.close(fd)
