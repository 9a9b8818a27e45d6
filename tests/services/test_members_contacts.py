"""The private contact book: one contract, every adapter (memory, SQLite, PostgreSQL), for
members' and organisations' contact details."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.members import domain as d
from services.members.contacts import (ORGANISATIONS, ContactBook, MemoryContactBook, SqlContactBook,
                                      make_contact_book)
from services.members.domain import ContactDetails
from services.members.domain import commands as c
from tests.conftest import PG_URL
from xieshang.kernel.config import Settings
from xieshang.kernel.domain import InvalidCommand, NotAllowed
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine

WANG = ContactDetails("13812345678", "wangli@example.cn", "温州市鹿城区蝉街88号")
MZJ = ContactDetails("0577-88881234", "mzj-office@example.cn")   # a handling unit's office


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

    def test_organisations_are_kept_apart_from_members_with_the_same_id(self, book):
        book.put("x-1", WANG)
        book.put("x-1", MZJ, of=ORGANISATIONS)
        assert book.get("x-1") == WANG and book.get("x-1", of=ORGANISATIONS) == MZJ
        book.put("x-1", ContactDetails(email="unit@example.cn"), of=ORGANISATIONS)
        assert book.get("x-1", of=ORGANISATIONS) == ContactDetails(email="unit@example.cn")
        assert book.erase("x-1", of=ORGANISATIONS) is True and book.get("x-1", of=ORGANISATIONS) is None
        assert book.get("x-1") == WANG and book.erase("x-1", of=ORGANISATIONS) is False

    def test_many_at_once_leaves_out_those_without_details(self, book):
        book.put("m-1", WANG)
        book.put("m-2", ContactDetails(phone="13900000000"))
        book.put("mzj", MZJ, of=ORGANISATIONS)
        assert book.get_many(["m-1", "m-2", "m-3", "mzj"]) == {"m-1": WANG, "m-2": ContactDetails(phone="13900000000")}
        assert book.get_many(["m-1", "mzj"], of=ORGANISATIONS) == {"mzj": MZJ}
        assert book.get_many([]) == {}
        ids = [f"m-{n}" for n in range(500)]   # as many as delivery_addresses asks for
        assert set(book.get_many(ids)) == {"m-1", "m-2"}

    def test_only_members_and_organisations_have_shelves(self, book):
        with pytest.raises(ValueError):
            book.get("m-1", of="proposal")


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
        book.put("mzj", ContactDetails("0577-88880001", "gone-office@example.cn"), of=ORGANISATIONS)
        book.put("mzj", ContactDetails("0577-88880002"), of=ORGANISATIONS)
        assert book.erase("mzj", of=ORGANISATIONS) is True
        files = sorted((tmp_path / "members").iterdir())
        assert {p.name for p in files} >= {"private.sqlite", "private.sqlite-wal", "private.sqlite-shm"}
        for path in files:
            content = path.read_bytes()
            for gone in (replaced, erased, "五马街17号", "0577-88880001", "gone-office", "0577-88880002"):
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
        with pytest.raises(sa.exc.DBAPIError) as err:
            book.put("mzj", too_long, of=ORGANISATIONS)
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


# -- the decisions on organisations' details and on where notices go (pure) ------------------------

def test_where_a_notice_goes_is_a_serving_members_or_an_open_organisations_address():
    statuses = {"m-1": d.ACTIVE, "m-2": d.TERM_ENDED, "m-3": d.RESIGNED}
    orgs = {"mzj": d.OPEN, "jtj": d.CLOSED, "m-2": d.OPEN}   # an id that names a member is the member's
    asked = ["m-1", "m-2", "m-3", "mzj", "jtj", "nobody"]
    assert d.reachable(asked, statuses, orgs) == (["m-1"], ["mzj"])
    contacts = {"m-1": WANG, "mzj": MZJ}
    sms = c.DeliveryAddresses.parse(party_ids=asked, channel="sms")
    assert d.delivery_addresses(sms, contacts) == {"m-1": "13812345678", "m-2": None, "m-3": None,
                                                  "mzj": None, "jtj": None, "nobody": None}  # a landline: no SMS
    email = c.DeliveryAddresses.parse(party_ids=["m-1", "mzj"], channel="email")
    assert d.delivery_addresses(email, contacts) == {"m-1": WANG.email, "mzj": MZJ.email}
    assert d.delivery_address(None, "email") is None and d.delivery_address(ContactDetails(), "sms") is None


def test_only_staff_keep_an_open_organisations_details():
    staff, unit = Actor("staff-1", "staff", "office"), Actor("u-mzj-1", "unit", "mzj")
    mzj = d.fold_organisation("mzj", [d.OrganisationRegistered("mzj", "handling_unit", "区民政局")])
    [changed] = d.change_organisation_contact(staff, mzj, None, MZJ)
    assert (changed.org_id, changed.fields) == ("mzj", ["phone", "email"]) and "0577" not in repr(changed)
    assert d.change_organisation_contact(staff, mzj, MZJ, MZJ) == []
    with pytest.raises(NotAllowed):
        d.change_organisation_contact(unit, mzj, None, MZJ)
    closed = d.fold_organisation("mzj", [d.OrganisationRegistered("mzj", "handling_unit", "区民政局"),
                                         d.OrganisationClosed("mzj", "撤并")])
    for state in (closed, d.Organisation("nope")):
        with pytest.raises(InvalidCommand) as err:
            d.change_organisation_contact(staff, state, None, MZJ)
        assert list(err.value.fields) == ["org_id"]
    [erased] = d.erase_organisation_contact(staff, closed, MZJ, c.EraseOrganisationContact("mzj", "单位已撤销"))
    assert (erased.fields, erased.reason) == (["phone", "email"], "单位已撤销")
    assert d.check_organisation_contact(" 0577-88881234 ", "mzj-office@example.cn") == MZJ
