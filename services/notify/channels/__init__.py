"""The delivery port of notify: a notice rendered for one person, handed to one channel.

A channel is an adapter that does I/O (``smtp.SmtpChannel``, ``aliyun_sms.AliyunSmsChannel``);
``channels_from_config`` is the one place that chooses them. An adapter never raises for a
delivery failure: it answers an ``Outcome`` whose status says what to do next, and it never puts
the address in a log line, an outcome or an exception.

| setting                        | meaning                                                        | default |
| ------------------------------ | -------------------------------------------------------------- | ------- |
| XIESHANG_SMTP_HOST             | the mail relay; unset: no e-mail channel                       | —       |
| XIESHANG_SMTP_PORT             | its port                                                       | 465 with _SSL, 587 with _STARTTLS, else 25 |
| XIESHANG_SMTP_STARTTLS         | 1: STARTTLS after connecting (the certificate is verified)     | 0       |
| XIESHANG_SMTP_SSL              | 1: TLS from the start (SMTPS)                                  | 0       |
| XIESHANG_SMTP_USERNAME, _PASSWORD | login (AUTH) when the username is set                       | —       |
| XIESHANG_SMTP_SENDER           | From, e.g. ``政协提案委员会 <noreply@xieshang.local>``            | noreply@xieshang.local |
| XIESHANG_SMTP_TIMEOUT          | seconds for connecting and for each answer                     | 10      |
| XIESHANG_SMS_ENDPOINT          | Aliyun dysmsapi, e.g. https://dysmsapi.aliyuncs.com/; unset: no SMS channel | — |
| XIESHANG_SMS_ACCESS_KEY_ID, _ACCESS_KEY_SECRET | the RAM user's AccessKey                       | required with an endpoint |
| XIESHANG_SMS_SIGN_NAME         | the approved signature (签名)                                   | required with an endpoint |
| XIESHANG_SMS_TEMPLATES         | notice kind -> TemplateCode, ``proposal_assigned:SMS_1,*:SMS_0`` | required with an endpoint |
| XIESHANG_SMS_REGION            | RegionId                                                        | cn-hangzhou |
| XIESHANG_SMS_TIMEOUT           | seconds for the whole request                                   | 10      |

A key present in the nameko config wins over the environment (as ``xieshang.kernel.config``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Mapping

from xieshang.kernel.config import ConfigError, setting_flag, setting_number, setting_source, setting_text

EMAIL = "email"
SMS = "sms"
CHANNELS = (EMAIL, SMS)

SENT = "sent"
RETRY = "retry"      # transient: try again later
FAILED = "failed"    # permanent: trying again will not help
STATUSES = (SENT, RETRY, FAILED)

DEFAULT_SENDER = "noreply@xieshang.local"
DEFAULT_TIMEOUT = 10.0
DEFAULT_SMS_REGION = "cn-hangzhou"


@dataclass(frozen=True)
class Message:
    """One notice for one person on one channel, rendered in the recipient's language."""

    message_id: str          # stable per notice and channel: a repeat is recognisable downstream
    channel: str             # "email" | "sms"
    to: str = field(repr=False)  # the address: never logged, never in a repr
    subject: str             # the title
    text: str                # the plain-text body
    template: str = ""       # the notice kind, e.g. "proposal_assigned" (SMS template lookup)
    params: Mapping[str, str] = field(default_factory=dict)  # the SMS template's parameters

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, not {self.channel!r}")


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt. ``detail`` says why (a code, never the address)."""

    status: str
    detail: str = ""
    provider_id: str | None = None  # e.g. Aliyun's BizId

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {self.status!r}")

    @classmethod
    def sent(cls, detail: str = "", provider_id: str | None = None) -> "Outcome":
        return cls(SENT, detail, provider_id)

    @classmethod
    def retry(cls, detail: str) -> "Outcome":
        return cls(RETRY, detail)

    @classmethod
    def failed(cls, detail: str) -> "Outcome":
        return cls(FAILED, detail)


class Channel(abc.ABC):
    """Delivers messages on one channel. Safe to call from several (green) threads at once."""

    name: str

    @abc.abstractmethod
    def send(self, message: Message) -> Outcome:
        """Try once to deliver ``message``; never raises for a delivery failure."""

    def close(self) -> None:
        """Let go of whatever the channel holds (nothing, for a connection per message)."""


def channels_from_config(config: Mapping[str, Any] | None = None) -> dict[str, Channel]:
    """The configured channels by name (nameko config first, then the environment):
    XIESHANG_SMTP_HOST/_PORT/_STARTTLS(0/1)/_SSL(0/1)/_USERNAME/_PASSWORD/_SENDER/_TIMEOUT;
    XIESHANG_SMS_ENDPOINT/_ACCESS_KEY_ID/_ACCESS_KEY_SECRET/_SIGN_NAME/_TEMPLATES
    ("kind:SMS_1,*:SMS_0")/_REGION/_TIMEOUT. A channel whose host/endpoint is unset is absent;
    ConfigError names a setting that is wrong."""
    src = setting_source(config)
    channels: dict[str, Channel] = {}
    if setting_text(src, "XIESHANG_SMTP_HOST"):
        channels[EMAIL] = _smtp(src)
    if setting_text(src, "XIESHANG_SMS_ENDPOINT"):
        channels[SMS] = _sms(src)
    return channels


def _smtp(src: Mapping[str, Any]) -> Channel:
    from .smtp import SmtpChannel

    starttls, implicit = setting_flag(src, "XIESHANG_SMTP_STARTTLS"), setting_flag(src, "XIESHANG_SMTP_SSL")
    if starttls and implicit:
        raise ConfigError("set one of XIESHANG_SMTP_STARTTLS and XIESHANG_SMTP_SSL, not both "
                          "(STARTTLS upgrades a plain connection, SSL is TLS from the start)")
    username = setting_text(src, "XIESHANG_SMTP_USERNAME")
    password = setting_text(src, "XIESHANG_SMTP_PASSWORD")
    if password and not username:
        raise ConfigError("XIESHANG_SMTP_PASSWORD is set but XIESHANG_SMTP_USERNAME is not")
    return SmtpChannel(
        setting_text(src, "XIESHANG_SMTP_HOST"),
        setting_number(src, "XIESHANG_SMTP_PORT", 465 if implicit else 587 if starttls else 25, int),
        sender=setting_text(src, "XIESHANG_SMTP_SENDER") or DEFAULT_SENDER,
        starttls=starttls, ssl=implicit, username=username or None, password=password or None,
        timeout=setting_number(src, "XIESHANG_SMTP_TIMEOUT", DEFAULT_TIMEOUT, float))


def _sms(src: Mapping[str, Any]) -> Channel:
    from .aliyun_sms import AliyunSmsChannel, parse_templates

    missing = [key for key in ("XIESHANG_SMS_ACCESS_KEY_ID", "XIESHANG_SMS_ACCESS_KEY_SECRET",
                               "XIESHANG_SMS_SIGN_NAME", "XIESHANG_SMS_TEMPLATES") if not setting_text(src, key)]
    if missing:
        raise ConfigError(f"XIESHANG_SMS_ENDPOINT is set, so set {', '.join(missing)} too "
                          "(or unset the endpoint to send no SMS)")
    try:
        templates = parse_templates(setting_text(src, "XIESHANG_SMS_TEMPLATES"))
    except ValueError as e:
        raise ConfigError(f"XIESHANG_SMS_TEMPLATES: {e}") from None
    return AliyunSmsChannel(
        setting_text(src, "XIESHANG_SMS_ENDPOINT"),
        access_key_id=setting_text(src, "XIESHANG_SMS_ACCESS_KEY_ID"),
        access_key_secret=setting_text(src, "XIESHANG_SMS_ACCESS_KEY_SECRET"),
        sign_name=setting_text(src, "XIESHANG_SMS_SIGN_NAME"),
        templates=templates,
        region=setting_text(src, "XIESHANG_SMS_REGION") or DEFAULT_SMS_REGION,
        timeout=setting_number(src, "XIESHANG_SMS_TIMEOUT", DEFAULT_TIMEOUT, float))
