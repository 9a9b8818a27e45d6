"""Contact details 联系方式: personal data (ADR 0005). They never go into an event, a log line or
a read model: the events say only which fields changed or were erased (and why); the values
live in the service's private contact book (services/members/contacts.py).

Members have a phone, an e-mail and an address; organisations (a handling unit's or the
committee office's) a phone and a mailbox, where notices to them are delivered. Where a notice
reaches someone (``delivery_addresses``) is decided here too: a serving member's or an open
organisation's e-mail, or mobile number for SMS (a landline receives none)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Collection, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor

from .access import require_contact_details_right, require_staff
from .checks import required
from .commands import DeliveryAddresses, EraseContactDetails, EraseOrganisationContact
from .events import (ContactDetailsChanged, ContactDetailsErased, OrganisationContactChanged,
                     OrganisationContactErased)
from .members import Member, require_active, require_member
from .organisations import Organisation
from .vocabulary import ACTIVE, CONTACT_FIELDS, DELIVERY_CHANNELS, MAX_DELIVERY_IDS, OPEN

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")          # a mainland mobile number 手机号
_LANDLINE = re.compile(r"^0[1-9][0-9]{1,2}-?[0-9]{7,8}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

@dataclass(frozen=True)
class ContactDetails:
    """A member's telephone, e-mail and postal address. Its repr says only which fields are
    set, so that a stray log line or error message never prints them."""

    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={'<set>' if getattr(self, f) else '<none>'}" for f in CONTACT_FIELDS)
        return f"ContactDetails({shown})"

    __str__ = __repr__

    def to_dict(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}

    def differs_in(self, other: "ContactDetails | None") -> list[str]:
        other = other or ContactDetails()
        return [f for f in CONTACT_FIELDS if getattr(self, f) != getattr(other, f)]

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in CONTACT_FIELDS)


def check_contact_details(phone: Any = None, email: Any = None, address: Any = None,
                          where: Mapping[str, str] | None = None) -> ContactDetails:
    """Normalise and check contact details. Errors name the field and what it must be, never the
    value. ``where`` renames the fields in errors (e.g. {"phone": "row 12, 手机"})."""
    where = where or {}
    problems: dict[str, str] = {}
    phone = _blank_to_none(phone)
    if phone is not None:
        digits = re.sub(r"[\s()-]", "", str(phone))
        digits = digits[3:] if digits.startswith("+86") else digits
        if _PHONE.fullmatch(digits):
            phone = digits
        elif _LANDLINE.fullmatch(str(phone).replace(" ", "")):
            phone = str(phone).replace(" ", "")
        else:
            problems[where.get("phone", "phone")] = ("a mobile number of 11 digits starting with 1 "
                                                     "(or a landline with its area code)")
    email = _blank_to_none(email)
    if email is not None and not _EMAIL.fullmatch(str(email)):
        problems[where.get("email", "email")] = "an e-mail address like name@example.cn"
    address = _blank_to_none(address)
    if address is not None and not 2 <= len(str(address)) <= 200:
        problems[where.get("address", "address")] = "2 to 200 characters"
    if problems:
        raise InvalidCommand(("the contact details are malformed", "联系方式格式有误"), problems)
    return ContactDetails(phone, None if email is None else str(email).strip(),
                          None if address is None else str(address).strip())


def change_contact_details(actor: Actor, state: Member, before: ContactDetails | None,
                           after: ContactDetails) -> list[DomainEvent]:
    """Staff or the member themselves change the member's contact details. The event names the
    fields that changed; the values go to the private contact book only."""
    require_contact_details_right(actor, state.member_id, "set_contact_details")
    require_active(state, "set_contact_details")
    changed = after.differs_in(before)
    if changed and not after.differs_in(ContactDetails()):  # every field emptied: an erasure
        _refuse_emptying(("phone", "email", "address"))
    return [ContactDetailsChanged(member_id=state.member_id, fields=changed)] if changed else []


def erase_contact_details(actor: Actor, state: Member, before: ContactDetails | None,
                          cmd: EraseContactDetails) -> list[DomainEvent]:
    """Staff (or the member themselves) erase the member's contact details, also after the
    member left, saying why: the event names the fields that were kept, never their values."""
    require_contact_details_right(actor, state.member_id, "erase_contact_details")
    require_member(state)
    reason, kept = _erasure(cmd.reason, before)
    return [ContactDetailsErased(member_id=state.member_id, fields=kept, reason=reason)] if kept else []


def _refuse_emptying(fields: tuple[str, ...]) -> None:
    raise InvalidCommand(
        ("this would erase every contact detail: erase them with DELETE, saying why",
         "此操作将清空全部联系方式：如需删除，请使用删除操作并说明理由"),
        {name: "至少保留一项；删除全部请用删除操作 keep one, or erase them (with a reason)" for name in fields})


def _erasure(reason: Any, before: ContactDetails | None) -> tuple[str, list[str]]:
    """An erasure's reason, checked, and the fields it erases (those kept until now)."""
    problems: dict[str, str] = {}
    reason = required(problems, "reason", reason, 2, 500)
    if problems:
        raise InvalidCommand(("say why the contact details are erased", "删除联系方式须说明理由"),
                             {"reason": "理由，2 至 500 字 why, in 2 to 500 characters"})
    return reason, (before or ContactDetails()).differs_in(ContactDetails())


# -- organisations ---------------------------------------------------------------------------

def check_organisation_contact(phone: Any = None, email: Any = None) -> ContactDetails:
    """An organisation's phone and mailbox, checked as a member's (no address)."""
    return check_contact_details(phone, email)


def require_organisation(state: Organisation, open_only: bool = True) -> Organisation:
    """``state`` if it is a registered (and, with ``open_only``, not closed) organisation, else
    InvalidCommand naming ``org_id``."""
    if not state.exists:
        raise InvalidCommand((f"no organisation {state.org_id!r} is registered", f"没有登记组织 {state.org_id!r}"),
                             {"org_id": "a registered organisation's id 已登记组织的标识"})
    if open_only and state.status != OPEN:
        raise InvalidCommand((f"the organisation {state.org_id!r} is closed", f"组织 {state.org_id!r} 已撤销"),
                             {"org_id": "an organisation that is not closed 未撤销的组织"})
    return state


def change_organisation_contact(actor: Actor, state: Organisation, before: ContactDetails | None,
                                after: ContactDetails) -> list[DomainEvent]:
    """Staff change an open organisation's phone and mailbox; the event names the fields that
    changed, the values go to the private contact book only."""
    require_staff(actor, "set_organisation_contact", ("only committee staff keep the organisations' contact details",
                                                      "只有工作人员可以维护单位联系方式"))
    require_organisation(state)
    changed = after.differs_in(before)
    if changed and after.empty:
        _refuse_emptying(("phone", "email"))
    return [OrganisationContactChanged(org_id=state.org_id, fields=changed)] if changed else []


def erase_organisation_contact(actor: Actor, state: Organisation, before: ContactDetails | None,
                               cmd: EraseOrganisationContact) -> list[DomainEvent]:
    """Staff erase an organisation's contact details (also once it is closed), saying why."""
    require_staff(actor, "erase_organisation_contact", ("only committee staff keep the organisations' contact details",
                                                        "只有工作人员可以维护单位联系方式"))
    require_organisation(state, open_only=False)
    reason, kept = _erasure(cmd.reason, before)
    return [OrganisationContactErased(org_id=state.org_id, fields=kept, reason=reason)] if kept else []


# -- where notices are delivered ------------------------------------------------------------------

def check_delivery_query(cmd: DeliveryAddresses) -> DeliveryAddresses:
    problems: dict[str, str] = {}
    if cmd.channel not in DELIVERY_CHANNELS:
        problems["channel"] = f"one of 取值之一: {', '.join(DELIVERY_CHANNELS)}"
    if len(cmd.party_ids) > MAX_DELIVERY_IDS:
        problems["party_ids"] = f"at most {MAX_DELIVERY_IDS} ids 最多 {MAX_DELIVERY_IDS} 个标识"
    if problems:
        raise InvalidCommand(("bad delivery address query", "送达地址查询参数有误"), problems)
    return cmd


def reachable(party_ids: Collection[str], members: Mapping[str, str],
              organisations: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(the serving members, the open organisations) among ``party_ids``, given the status of
    each member and organisation known: only their contact details may be used. An id that
    names a member is the member's, whatever organisation has it too."""
    serving = [p for p in party_ids if members.get(p) == ACTIVE]
    open_orgs = [p for p in party_ids if p not in members and organisations.get(p) == OPEN]
    return serving, open_orgs


def delivery_address(details: ContactDetails | None, channel: str) -> str | None:
    """Where a notice on ``channel`` reaches the holder of ``details``: the e-mail, or the
    mobile number (a landline receives no SMS); None if there is none."""
    if details is None:
        return None
    if channel == "email":
        return details.email
    return details.phone if details.phone and _PHONE.fullmatch(details.phone) else None


def delivery_addresses(cmd: DeliveryAddresses, contacts: Mapping[str, ContactDetails]) -> dict[str, str | None]:
    """Every id of the query with its address on the query's channel (None: none), from the
    contact details of those ``reachable`` (keyed by their id)."""
    return {p: delivery_address(contacts.get(p), cmd.channel) for p in cmd.party_ids}


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    return text or None

