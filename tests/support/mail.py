"""A local SMTP server for tests and benchmarks (aiosmtpd, on a free port of 127.0.0.1).

    with LocalSmtpServer(starttls=True, auth=("notify", "secret")) as server:
        channel = SmtpChannel(server.host, server.port, sender="noreply@example.org",
                              starttls=True, username="notify", password="secret",
                              ssl_context=server.client_ssl_context())
        ...
        [mail] = server.wait_for(1)

``starttls``: the server offers STARTTLS with a certificate of a CA made for it (``trustme``) and
refuses mail before it; ``implicit_tls``: TLS from the first byte (SMTPS); ``auth``: (username,
password) it requires by AUTH LOGIN or PLAIN. ``fail_next(n, code)`` makes the next n
recipients (or, ``at="data"``, mails) get ``code``: 451 for a transient refusal, 550 for a
permanent one; the refusal quotes the address, as real servers do.

Works with OS threads and, under eventlet's monkey patching, with green threads.
"""

from __future__ import annotations

import email.policy
import logging
import socket
import ssl
import threading
from email import message_from_bytes
from email.message import EmailMessage

# aiosmtpd's own logger: it logs the envelope (addresses) at DEBUG, as a server may.
SERVER_LOGGERS = ("mail.log",)

_TEXTS = {421: "4.3.2 Service shutting down", 450: "4.2.1 Mailbox busy, try again later",
          451: "4.3.0 Requested action aborted: try again later", 452: "4.3.1 Insufficient storage",
          550: "5.1.1 Mailbox unavailable", 552: "5.3.4 Message too big", 554: "5.7.1 Rejected"}


class LocalSmtpServer:
    def __init__(self, starttls: bool = False, auth: tuple[str, str] | None = None, *,
                 implicit_tls: bool = False, host: str = "127.0.0.1"):
        if starttls and implicit_tls:
            raise ValueError("starttls and implicit_tls exclude each other")
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        _quiet_aiosmtpd()
        self.host, self.port = host, _free_port(host)
        self.starttls, self.implicit_tls, self.auth = starttls, implicit_tls, auth
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) of each mail
        self.logins: list[str] = []  # usernames that logged in
        self._changed = threading.Condition()
        self._failures: list[tuple[str, int, int]] = []  # (at, code, how many more)
        self._ca = None
        server_context = self._server_context() if (starttls or implicit_tls) else None

        def authenticator(server, session, envelope, mechanism, auth_data):
            login = getattr(auth_data, "login", b"") or b""
            password = getattr(auth_data, "password", b"") or b""
            ok = auth is not None and (login.decode("utf-8", "replace"),
                                       password.decode("utf-8", "replace")) == tuple(auth)
            if ok:
                with self._changed:
                    self.logins.append(auth[0])
            return AuthResult(success=ok, handled=False)

        options = {}
        if starttls:
            options.update(tls_context=server_context, require_starttls=True)
        if auth is not None:
            options.update(authenticator=authenticator, auth_required=True,
                           auth_require_tls=starttls or implicit_tls)
        self._controller = Controller(
            _Handler(self), hostname=host, port=self.port,
            ssl_context=server_context if implicit_tls else None, **options)
        self._controller.start()

    # -- for the client -------------------------------------------------------------------
    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (and checks its host name)."""
        context = ssl.create_default_context()
        if self._ca is not None:
            self._ca.configure_trust(context)
        return context

    # -- what the test controls -----------------------------------------------------------
    def fail_next(self, n: int, code: int, *, at: str = "rcpt") -> None:
        """The next ``n`` RCPT TO (``at="rcpt"``) or DATA (``at="data"``) commands get ``code``."""
        if at not in ("rcpt", "data"):
            raise ValueError("at is 'rcpt' or 'data'")
        with self._changed:
            self._failures.append((at, code, n))

    def wait_for(self, n: int, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages once at least ``n`` have arrived; TimeoutError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= n, timeout):
                raise TimeoutError(f"{len(self.messages)} of {n} mails arrived within {timeout}s")
            return list(self.messages)

    def close(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> "LocalSmtpServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the handler's side ---------------------------------------------------------------
    def _failure(self, at: str) -> int | None:
        with self._changed:
            for i, (where, code, left) in enumerate(self._failures):
                if where == at:
                    if left <= 1:
                        del self._failures[i]
                    else:
                        self._failures[i] = (where, code, left - 1)
                    return code
        return None

    def _received(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        mail = message_from_bytes(content, policy=email.policy.default)
        with self._changed:
            self.messages.append(mail)
            self.envelopes.append((mail_from, list(rcpt_tos)))
            self._changed.notify_all()

    def _server_context(self) -> ssl.SSLContext:
        import trustme

        self._ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(self.host, "localhost").configure_cert(context)
        return context


class _Handler:
    def __init__(self, server: LocalSmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self.server._failure("rcpt")
        if code is not None:
            return f"{code} {_TEXTS.get(code, 'Refused')}: <{address}>"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        code = self.server._failure("data")
        if code is not None:
            return f"{code} {_TEXTS.get(code, 'Refused')} for <{', '.join(envelope.rcpt_tos)}>"
        self.server._received(envelope.mail_from, envelope.rcpt_tos,
                              envelope.original_content or envelope.content)
        return "250 2.0.0 OK: queued"


class _LoginDataNotice(logging.Filter):
    # aiosmtpd 1.4 warns about its own deprecated attribute at every successful login
    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _quiet_aiosmtpd() -> None:
    logger = logging.getLogger(SERVER_LOGGERS[0])
    if not any(isinstance(f, _LoginDataNotice) for f in logger.filters):
        logger.addFilter(_LoginDataNotice())


def _free_port(host: str) -> int:
    # aiosmtpd's Controller connects to its own port to see it is up, so it needs the number.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
