"""The private contact book: one contract, every adapter (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.members.contacts import ContactBook, MemoryContactBook, SqlContactBook, make_contact_book
from services.members.domain import ContactDetails
from tests.conftest import PG_URL
from xieshang.kernel.config import Settings
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine

WANG = ContactDetails("13812345678", "wangli@example.cn", "温州市鹿城区蝉街88号")


class ContactBookContract:
    """What every contact book does."""

    @pytest.fixture
    def book(self) -> ContactBook:
        raise NotImplementedError

    def test_keeps_replaces_and_erases(self, book):
        assert book.get("m-1") is None
        book.put("m-1", WANG)
        assert book.get("m-1") == WANG
        book.put("m-1", ContactDetails(phone="13900000000"))
        assert book.get("m-1") == ContactDetails(phone="13900000000")
        assert book.erase("m-1") is True and book.get("m-1") is None
        assert book.erase("m-1") is False

    def test_members_are_kept_apart(self, book):
        book.put("m-1", WANG)
        book.put("m-2", ContactDetails(email="li@example.cn"))
        assert book.get("m-1") == WANG and book.get("m-2").email == "li@example.cn"


class TestMemory(ContactBookContract):
    @pytest.fixture
    def book(self):
        return MemoryContactBook()


class TestSqlite(ContactBookContract):
    @pytest.fixture
    def book(self, tmp_path):
        book = make_contact_book(Settings(service="members", data_dir=str(tmp_path)))
        yield book
        book.close()

    def test_lives_in_the_private_file_beside_the_events(self, book, tmp_path):
        assert (tmp_path / "members" / "private.sqlite").exists()

    def test_an_erased_or_replaced_number_is_in_no_file(self, book, tmp_path):
        """secure_delete zeroes the row's bytes, the WAL checkpoint takes the old page images
        out of the -wal file (searched while the book is open: closing it would checkpoint)."""
        replaced, erased = "13911112222", "13933334444"
        book.put("m-1", ContactDetails(phone=replaced, address="温州市鹿城区五马街17号"))
        book.put("m-2", WANG)
        book.put("m-1", ContactDetails(phone=erased))
        assert book.erase("m-1") is True
        files = sorted((tmp_path / "members").iterdir())
        assert {p.name for p in files} >= {"private.sqlite", "private.sqlite-wal", "private.sqlite-shm"}
        for path in files:
            content = path.read_bytes()
            for gone in (replaced, erased, "五马街17号"):
                assert gone.encode() not in content, (path.name, gone)
        assert book.get("m-2") == WANG   # the others are kept
        with book.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


@pytest.mark.postgres
class TestPostgres(ContactBookContract):
    @pytest.fixture
    def book(self, pg_schema):
        book = SqlContactBook(postgres_engine(PG_URL, hide_parameters=True), schema=pg_schema)
        yield book
        book.close()

    def test_a_failing_statement_does_not_carry_the_values(self, book):
        too_long = ContactDetails(phone="1" * 40, email="secret-mail@example.cn")
        with pytest.raises(sa.exc.DBAPIError) as err:
            book.put("m-1", too_long)
        assert "1" * 40 not in str(err.value) and "secret-mail" not in str(err.value)


def test_sqlite_errors_hide_the_values_too(tmp_path):
    engine = sqlite_engine(str(tmp_path / "p.sqlite"), hide_parameters=True)
    book = SqlContactBook(engine)
    with engine.begin() as conn:   # make the next write fail
        conn.execute(sa.text("CREATE TRIGGER refuse BEFORE INSERT ON member_contacts "
                             "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    with pytest.raises(sa.exc.DBAPIError) as err:
        book.put("m-1", WANG)
    assert WANG.phone not in str(err.value) and "hidden" in str(err.value)
    book.close()
