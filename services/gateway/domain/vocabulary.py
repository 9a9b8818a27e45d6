"""The words of the gateway's accounts: roles, who registers whom, reserved ids, login failure
reasons, limits, stream names, and how ids and organisations are written."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any

from xieshang.kernel.ids import is_id

# Roles (Actor.role). An admin administers accounts and API keys and nothing else: the other
# services know no "admin" role, so an admin's token grants no casework rights.
STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, SYSTEM = (
    "staff", "member", "unit", "leader", "auditor", "admin", "subscriber", "system")
# informant: a registered opinion informant 信息员; public: a resident who comments on published
# proposals (read-only otherwise: the public pages need no account at all).
INFORMANT, PUBLIC = "informant", "public"
ACCOUNT_ROLES = (STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, INFORMANT, PUBLIC)
# Who registers which accounts: staff enrol the members, units and leaders they work with;
# staff, auditor (who audit staff) and admin accounts need an admin. "system" is the
# gateway's own bootstrap (auth.Authenticator.ensure_admin).
REGISTRARS: dict[str, tuple[str, ...]] = {
    ADMIN: ACCOUNT_ROLES,
    SYSTEM: ACCOUNT_ROLES,
    STAFF: (MEMBER, UNIT, LEADER, INFORMANT, PUBLIC),
}
# Ids that name the system itself in events and context data: no person may take them.
RESERVED_IDS = frozenset({"system", "public", "anonymous", "gateway"})

# LoginFailed.reason; the first two count towards a lockout.
WRONG_PASSWORD, NO_PASSWORD, LOCKED, DISABLED = "wrong_password", "no_password", "locked", "disabled"
COUNTED_FAILURES = (WRONG_PASSWORD, NO_PASSWORD)
REMEMBERED_FAILURES = 100  # bounds the state of an account that fails for years without a success

DISPLAY_NAME_MAX = 50
REASON_MAX = 500
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps UTC+08:00 all year

# Organisations are ids ("proposal-committee", "mzj") or, for members, their sector's name as the
# members service records it ("经济界"): letters of any script, digits, _ . : -.
_ORGANISATION = re.compile(r"^[^\W_][\w.:-]{0,63}$")
ORGANISATION_RULE = ("the organisation: 1 to 64 letters (any script), digits or _ . : - , starting "
                     "with a letter or digit")


def account_stream(user_id: str) -> str:
    return f"account-{user_id}"


def api_key_stream(key_id: str) -> str:
    return f"apikey-{key_id}"


def valid_id(value: Any) -> bool:
    return is_id(value)


def valid_organisation(value: Any) -> bool:
    return isinstance(value, str) and bool(_ORGANISATION.fullmatch(value))
