"""Contact details 联系方式: personal data (ADR 0005). They never go into an event, a log line or
a read model: the events say only which fields changed or were erased (and why); the values
live in the service's private contact book (services/members/contacts.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor

from .access import require_contact_details_right
from .checks import required
from .commands import EraseContactDetails
from .events import ContactDetailsChanged, ContactDetailsErased
from .members import Member, require_active, require_member
from .vocabulary import CONTACT_FIELDS

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
        raise InvalidCommand(
            ("this would erase every contact detail: erase them with DELETE, saying why",
             "此操作将清空全部联系方式：如需删除，请使用删除操作并说明理由"),
            {name: "至少保留一项；删除全部请用删除操作 keep one, or erase them (with a reason)"
             for name in ("phone", "email", "address")})
    return [ContactDetailsChanged(member_id=state.member_id, fields=changed)] if changed else []
    return [ContactDetailsChanged(member_id=state.member_id, fields=changed)] if changed else []


def erase_contact_details(actor: Actor, state: Member, before: ContactDetails | None,
                          cmd: EraseContactDetails) -> list[DomainEvent]:
    """Staff (or the member themselves) erase the member's contact details, also after the
    member left, saying why: the event names the fields that were kept, never their values."""
    require_contact_details_right(actor, state.member_id, "erase_contact_details")
    require_member(state)
    problems: dict[str, str] = {}
    reason = required(problems, "reason", cmd.reason, 2, 500)
    if problems:
        raise InvalidCommand(("say why the contact details are erased", "删除联系方式须说明理由"),
                             {"reason": "理由，2 至 500 字 why, in 2 to 500 characters"})
    kept = (before or ContactDetails()).differs_in(ContactDetails())
    return [ContactDetailsErased(member_id=state.member_id, fields=kept, reason=reason)] if kept else []


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    return text or None

