"""E-mail over SMTP (smtplib): one connection per message, STARTTLS or implicit TLS and login
where configured, a UTF-8 text/plain mail whose Message-ID is the message's own.

Outcomes: 2xx -> sent; 4xx, a dropped connection, a refused connection or a timeout -> retry;
5xx (the recipient, the sender or the data refused), a failed login, a certificate that is not
trusted -> failed. A server's answer text often quotes the address, so only its codes are kept.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
import smtplib
import socket
import ssl as ssl_module
from email.message import EmailMessage

from . import EMAIL, Channel, Message, Outcome

log = logging.getLogger(__name__)

# 7bit: a non-ASCII body goes base64 or quoted-printable, so no relay needs 8BITMIME.
POLICY = email.policy.SMTP.clone(cte_type="7bit")
_ENHANCED = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})\b")
_LINE_BREAKS = re.compile(r"[\r\n]+")


class SmtpChannel(Channel):
    name = EMAIL

    def __init__(self, host: str, port: int = 25, *, sender: str, starttls: bool = False,
                 ssl: bool = False, username: str | None = None, password: str | None = None,
                 timeout: float = 10.0, ssl_context: ssl_module.SSLContext | None = None,
                 local_hostname: str | None = None):
        if starttls and ssl:
            raise ValueError("starttls and ssl exclude each other")
        if not email.utils.parseaddr(sender)[1]:
            raise ValueError("sender must be an address, e.g. 'Name <noreply@example.org>'")
        self.host, self.port, self.sender = host, int(port), sender
        self.starttls, self.ssl = starttls, ssl
        self.username, self._password = username, password
        self.timeout = timeout
        # None: the system's trusted CAs, host name checked
        self._ssl_context = ssl_context
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        tls = "ssl" if self.ssl else "starttls" if self.starttls else "plain"
        return f"SmtpChannel({self.host}:{self.port}, {tls}, login={bool(self.username)})"

    def send(self, message: Message) -> Outcome:
        outcome = self._send(message)
        level = logging.INFO if outcome.status == "sent" else logging.WARNING
        log.log(level, "mail %s: %s %s", message.message_id, outcome.status, outcome.detail)
        return outcome

    def compose(self, message: Message) -> EmailMessage:
        """The mail as it goes out (without the envelope)."""
        mail = EmailMessage(policy=POLICY)
        mail["Subject"] = _LINE_BREAKS.sub(" ", message.subject)
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = message_id_header(message.message_id)
        mail.set_content(message.text, subtype="plain", charset="utf-8")
        return mail

    # -- the one attempt ------------------------------------------------------------------
    def _send(self, message: Message) -> Outcome:
        recipient = email.utils.parseaddr(message.to)[1]
        if "@" not in recipient or _LINE_BREAKS.search(message.to):
            return Outcome.failed("not an e-mail address")
        try:
            mail = self.compose(message)
        except (ValueError, TypeError) as e:  # a header the email package refuses
            return Outcome.failed(f"mail not composable: {type(e).__name__}")
        sender = email.utils.parseaddr(self.sender)[1]
        try:
            smtp = self._connect()
            try:
                if self.starttls:
                    smtp.starttls(context=self._context())
                if self.username:
                    smtp.login(self.username, self._password or "")
                smtp.send_message(mail, from_addr=sender, to_addrs=[recipient])
            finally:
                _hang_up(smtp)
        except smtplib.SMTPAuthenticationError as e:
            return _by_code(e.smtp_code, "authentication refused")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()), (None, b""))
            return _by_code(code, "recipient refused", text)
        except smtplib.SMTPSenderRefused as e:
            return _by_code(e.smtp_code, "sender refused", e.smtp_error)
        except smtplib.SMTPDataError as e:
            return _by_code(e.smtp_code, "data refused", e.smtp_error)
        except smtplib.SMTPNotSupportedError as e:
            # the server's configuration, not a moment: trying again will not help
            return Outcome.failed(f"SMTP server does not support {_extension(str(e))}")
        except smtplib.SMTPServerDisconnected as e:
            # smtplib reports a timeout while reading an answer as a lost connection
            return Outcome.retry("SMTP timed out" if "timed out" in str(e) else "SMTP connection lost")
        except smtplib.SMTPResponseException as e:  # e.g. 421 at the greeting, 5xx to HELO
            return _by_code(e.smtp_code, "refused", e.smtp_error)
        except smtplib.SMTPException as e:
            if "authentication" in str(e).lower():  # no mechanism in common with the server
                return Outcome.failed("SMTP authentication: no method in common with the server")
            return Outcome.failed(f"SMTP {type(e).__name__}")
        except ssl_module.SSLCertVerificationError:
            return Outcome.failed("SMTP TLS certificate not trusted")
        except (socket.timeout, TimeoutError):
            return Outcome.retry("SMTP timed out")
        except ssl_module.SSLError as e:
            return Outcome.retry(f"SMTP TLS error {e.reason or type(e).__name__}")
        except OSError as e:  # refused, unreachable, reset, name not resolved (for now)
            return Outcome.retry(f"SMTP connection failed: {type(e).__name__}")
        except EOFError:  # eventlet's report of a socket closed under it
            return Outcome.retry("SMTP connection lost")
        return Outcome.sent("SMTP 250")

    def _connect(self) -> smtplib.SMTP:
        if self.ssl:
            return smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=self.timeout, context=self._context())
        return smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                            timeout=self.timeout)

    def _context(self) -> ssl_module.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl_module.create_default_context()
        return self._ssl_context


def message_id_header(message_id: str) -> str:
    """``message_id`` as a Message-ID header value: in angle brackets."""
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _hang_up(smtp: smtplib.SMTP) -> None:
    # After a refusal or an accepted mail alike: a goodbye that goes wrong changes nothing.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError, EOFError):
        smtp.close()


def _extension(error: str) -> str:
    for name, what in (("STARTTLS", "STARTTLS"), ("AUTH", "AUTH (authentication)"),
                       ("SMTPUTF8", "SMTPUTF8 (an address that is not ASCII)")):
        if name in error:
            return what
    return "a needed extension"


def _by_code(code: int | None, what: str, text: bytes | str = b"") -> Outcome:
    """4xx -> retry, anything else -> failed; the detail keeps the codes, never the text."""
    if isinstance(text, str):
        text = text.encode("utf-8", "replace")
    enhanced = _ENHANCED.match(text or b"")
    detail = f"SMTP {code if code is not None else '?'}" + (f" {enhanced.group(1).decode()}" if enhanced else "")
    detail = f"{detail} {what}"
    if code is not None and 400 <= code < 500:
        return Outcome.retry(detail)
    return Outcome.failed(detail)
