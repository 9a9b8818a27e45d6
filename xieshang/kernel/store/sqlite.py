"""The SQLite files of the system are the owner's only.

Every SQLite file the services create (each service's ``events.sqlite`` and ``views.sqlite``,
the members' ``private.sqlite`` contact book, the gateway's ``views.sqlite`` with its password
hashes) is made through ``store.sql.sqlite_engine``, which calls ``owner_only`` first:

* the file's folder (each service's data directory, and the data directory itself when it is
  created here) is made ``0700``, and tightened to it when it exists;
* the database file is created with ``os.open(..., 0o600)`` before SQLite opens it (and tightened
  to ``0600`` when it exists): SQLite gives its ``-wal``, ``-shm`` and ``-journal`` files the
  database file's permissions;
* ``tighten_side_files``, run on every new connection, brings ``-wal``/``-shm``/``-journal`` files
  left by an older version down to ``0600`` too.

The folder alone would already keep other local users out of every file in it; the files'
own modes keep them out when a file is copied or the folder is loosened by hand.
"""

from __future__ import annotations

import logging
import os
import stat

log = logging.getLogger(__name__)

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def owner_only(path: str) -> None:
    """Make ``path``'s folder (0700) and the file itself (0600) before SQLite opens it."""
    if path == ":memory:" or path.startswith("file:"):
        return
    folder = os.path.dirname(os.path.abspath(path))
    _make_folder(folder)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    _tighten(path, FILE_MODE)   # an existing file, or a umask that took bits away
    tighten_side_files(path)


def tighten_side_files(path: str) -> None:
    """The database's ``-wal``, ``-shm`` and ``-journal`` files, where they exist, to 0600."""
    for suffix in SIDE_FILES:
        _tighten(path + suffix, FILE_MODE)


def _tighten(path: str, mode: int) -> None:
    """``path`` to ``mode`` if it exists with another; one another user owns is reported (the
    operator's to fix), not a reason to refuse to start."""
    try:
        if stat.S_IMODE(os.stat(path).st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:
        log.warning("%s is not ours to make owner-only (mode %o): fix its owner or mode", path, mode)


def _make_folder(folder: str) -> None:
    """Create ``folder`` and its missing parents 0700; tighten ``folder`` itself when it exists
    (a parent that existed before, e.g. /tmp or the project's folder, is left alone)."""
    missing: list[str] = []
    at = folder
    while not os.path.isdir(at):
        missing.append(at)
        parent = os.path.dirname(at)
        if parent == at:
            break
        at = parent
    for made in reversed(missing):
        try:
            os.mkdir(made, DIRECTORY_MODE)
        except FileExistsError:   # made meanwhile by another process
            pass
        _tighten(made, DIRECTORY_MODE)   # mkdir's mode is subject to the umask
    _tighten(folder, DIRECTORY_MODE)
