"""Accounts 账户 and API keys of the gateway: its pure domain (events, vocabulary, decisions).

Pure, like every domain module: no I/O, no hashing, no tokens (those are auth.py's). State is
folded from events; every decision returns new events or raises a DomainError.

Streams:

* ``account-<user_id>``: one person's account: registration, role, password changes (the fact,
  never the hash), logins, lockouts, disabling.
* ``apikey-<key_id>``: one API key of a subscriber system: issued, revoked.

No event carries a secret. Events are kept forever and replayed; password hashes and API key
digests live in the gateway's credentials table (auth.Credentials), which can be wiped and
re-keyed without rewriting history.

Lockout: ``LockoutPolicy.max_failures`` failed logins within ``window_minutes`` lock the
account for ``lock_minutes`` (``AccountLocked``); it unlocks by itself when that time has
passed, or earlier by an admin (``AccountUnlocked``). Being events, a lockout holds on every
gateway instance.

Sessions: ``Account.sessions`` counts the events that end every session of the account
(``PasswordSet``, ``AccountRoleChanged``, ``AccountDisabled``); a token carries the count it
was issued at and is refused once the count has moved on.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "accounts": ("Account", "apply", "change_password", "change_role", "disable_account",
        "enable_account", "fold_account", "register_account", "unlock_account"),
    "api_keys": ("ApiKey", "apply_api_key", "fold_api_key", "issue_api_key", "revoke_api_key"),
    "checks": ("beijing", "iso", "parse_time"),
    "events": ("AccountRegistered", "AccountRoleChanged", "PasswordSet",
        "LoginFailed", "LoginSucceeded", "AccountLocked", "AccountUnlocked", "AccountDisabled",
        "AccountEnabled", "ApiKeyIssued", "ApiKeyRevoked", "registry"),
    "login": ("LockoutPolicy", "LoginOutcome", "LoginRefused", "record_login"),
    "vocabulary": ("STAFF", "MEMBER", "UNIT", "LEADER", "AUDITOR", "ADMIN", "SYSTEM", "SUBSCRIBER", "INFORMANT",
        "PUBLIC", "ACCOUNT_ROLES", "REGISTRARS", "RESERVED_IDS", "WRONG_PASSWORD", "NO_PASSWORD",
        "LOCKED", "DISABLED", "COUNTED_FAILURES", "REMEMBERED_FAILURES", "DISPLAY_NAME_MAX",
        "REASON_MAX", "BEIJING", "ORGANISATION_RULE", "account_stream", "api_key_stream",
        "valid_id", "valid_organisation"),
})
