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
was issued at and is refused once the count has moved on. Logging out (``TokenRevoked``) ends
one session: that token's id is refused until the token expires.

Residents open their own ``public`` accounts (``sign_up``); passwords follow
``passwords.password_problem`` (length, not common, not trivial, not the id or name).
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "accounts": ("Account", "apply", "change_password", "change_role", "disable_account",
        "enable_account", "end_session", "fold_account", "register_account", "sign_up",
        "unlock_account"),
    "api_keys": ("ApiKey", "apply_api_key", "fold_api_key", "issue_api_key", "revoke_api_key"),
    "checks": ("beijing", "iso", "parse_time"),
    "events": ("AccountRegistered", "AccountRoleChanged", "PasswordSet",
        "LoginFailed", "LoginSucceeded", "AccountLocked", "AccountUnlocked", "AccountDisabled",
        "AccountEnabled", "TokenRevoked", "ApiKeyIssued", "ApiKeyRevoked", "registry"),
    "login": ("LockoutPolicy", "LoginOutcome", "LoginRefused", "record_login"),
    "passwords": ("MIN_PASSWORD_LENGTH", "MAX_PASSWORD_LENGTH", "password_problem"),
    "vocabulary": ("STAFF", "MEMBER", "UNIT", "LEADER", "AUDITOR", "ADMIN", "SYSTEM", "SUBSCRIBER", "INFORMANT",
        "PUBLIC", "PUBLIC_ORGANISATION", "ACCOUNT_ROLES", "REGISTRARS", "RESERVED_IDS", "WRONG_PASSWORD", "NO_PASSWORD",
        "LOCKED", "DISABLED", "COUNTED_FAILURES", "REMEMBERED_FAILURES", "DISPLAY_NAME_MAX",
        "REASON_MAX", "BEIJING", "ORGANISATION_RULE", "account_stream", "api_key_stream",
        "SYSTEM_NAME_MAX", "SYSTEM_NAME_PATTERN", "SYSTEM_NAME_RULE", "valid_id", "valid_organisation",
        "valid_system_name"),
})
