"""What makes a password acceptable 密码规则: long enough, not common, not trivial, not the
person's own id or name. Pure: the caller normalises (auth.normalize_password) and hashes.

The list of common passwords is a data file shipped beside this module
(``common_passwords.txt``, written by infra/scripts/common_passwords.py), read once when first
needed. Each rule's refusal is an (English, Chinese) pair (xieshang.kernel.messages).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from xieshang.kernel.messages import Text

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# A name shorter than this (ASCII) is not looked for inside a password: "li" is in "reliable".
MIN_NAME_INSIDE = 3

# Runs of characters people type as a password: the alphabet, digits and keyboard rows
# (read cyclically and backwards too).
SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm",
             "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp",
             "1q2w3e4r5t6y7u8i9o0p")
# What people put around a common word to pass a length rule: digits, symbols ("password12!").
_DECORATION = re.compile(r"^[\d\W_]*(.*?)[\d\W_]*$", re.S)
MAX_DECORATION = 6


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, *, user_id: str = "", display_name: str = "") -> Text | None:
    """Why ``password`` (already normalised) is refused, as (English, Chinese); None if it is
    accepted."""
    if not password.strip():
        return ("the password must not be only spaces", "密码不能只有空格")
    if len(password) < MIN_PASSWORD_LENGTH:
        return (f"the password needs at least {MIN_PASSWORD_LENGTH} characters (this one has "
                f"{len(password)})", f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符（这个只有 {len(password)} 个）")
    if len(password) > MAX_PASSWORD_LENGTH:
        return (f"the password may have at most {MAX_PASSWORD_LENGTH} characters",
                f"密码最多 {MAX_PASSWORD_LENGTH} 个字符")
    folded = "".join(password.lower().split())
    if _repeated(folded):
        return ("the password must not be a character, or a few, repeated", "密码不能是重复的字符")
    if _sequence(folded):
        return ("the password must not be a run such as 1234567890, abcdefghij or a keyboard row",
                "密码不能是连续的字符，如 1234567890、abcdefghij、qwertyuiop")
    if _common(folded):
        return ("the password is one of the most common ones: easily guessed", "密码太常见，容易被猜中")
    for name, what_zh, what_en in ((user_id, "用户名", "the user id"), (display_name, "姓名", "the name")):
        if any(part in folded for part in _name_parts(name)):
            return f"the password must not contain {what_en}", f"密码不能包含{what_zh}"
    return None


def _repeated(folded: str) -> bool:
    """One character, or a short group, over and over (1111111111, abcabcabca), or barely any
    different characters (aaaaabbbbb)."""
    if len(set(folded)) < 4:
        return True
    for size in range(1, len(folded) // 2 + 1):
        unit = folded[:size]
        if (unit * (len(folded) // size + 1))[:len(folded)] == folded:
            return True
    return False


def _sequence(folded: str) -> bool:
    for run in SEQUENCES:
        for cyclic in (run * 3, run[::-1] * 3):
            if folded in cyclic:
                return True
    return False


def _common(folded: str) -> bool:
    common = common_passwords()
    if folded in common:
        return True
    core = _DECORATION.fullmatch(folded).group(1)
    return bool(core) and core != folded and len(folded) - len(core) <= MAX_DECORATION and core in common


def _name_parts(name: str) -> set[str]:
    """The name, and each of its words, as they would appear in a folded password."""
    name = (name or "").strip().lower()
    parts = {"".join(name.split()), *name.split()}
    return {p for p in parts if len(p) >= MIN_NAME_INSIDE or (len(p) >= 2 and not p.isascii())}
