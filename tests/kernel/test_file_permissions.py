"""Every SQLite file the system makes is the owner's only: the data directories 0700, the files
(with their -wal and -shm) 0600, whatever the umask, and also when they existed looser."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.members.contacts import make_contact_book
from services.members.domain import ContactDetails
from xieshang.kernel.config import Settings, make_event_store, make_views_engine
from xieshang.kernel.store.sql import sqlite_engine


@pytest.fixture
def loose_umask():
    """The usual umask (022), which leaves new files readable by every local user."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def written(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (1)"))


def test_every_store_view_and_private_file_is_the_owners_only(tmp_path, loose_umask):
    data = tmp_path / "data"
    members, gateway = Settings(service="members", data_dir=str(data)), Settings(service="gateway",
                                                                                 data_dir=str(data))
    store = make_event_store(members)
    views, _ = make_views_engine(members)
    accounts, _ = make_views_engine(gateway)          # the gateway's views hold the password hashes
    book = make_contact_book(members)
    try:
        book.put("m-1", ContactDetails(phone="13812345678"))
        written(views)
        written(accounts)
        store.head()
        files = sorted(p for p in data.rglob("*") if p.is_file())
        names = {str(p.relative_to(data)) for p in files}
        assert {"members/events.sqlite", "members/views.sqlite", "members/private.sqlite",
                "members/private.sqlite-wal", "members/private.sqlite-shm", "gateway/views.sqlite",
                "gateway/views.sqlite-wal", "gateway/views.sqlite-shm"} <= names, names
        assert {str(p.relative_to(data)): oct(mode(p)) for p in files} == {n: "0o600" for n in names}
        for folder in (data, data / "members", data / "gateway"):
            assert mode(folder) == 0o700, folder
    finally:
        book.close()
        views.dispose()
        accounts.dispose()
        store.close()


def test_files_and_folders_made_loose_before_are_tightened(tmp_path, loose_umask):
    folder = tmp_path / "members"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    path = folder / "private.sqlite"
    engine = sqlite_engine(str(path))
    written(engine)
    engine.dispose()
    for loose in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        loose.touch()
        os.chmod(loose, 0o644)
    os.chmod(folder, 0o755)

    engine = sqlite_engine(str(path))
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM probe")).scalar_one()
        assert mode(folder) == 0o700
        assert {p.name: oct(mode(p)) for p in folder.iterdir()} == {
            "private.sqlite": "0o600", "private.sqlite-wal": "0o600", "private.sqlite-shm": "0o600"}
    engine.dispose()
