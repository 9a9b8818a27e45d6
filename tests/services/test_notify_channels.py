"""The delivery channels of notify, against real servers started by the test: one contract that
every channel passes (email on a local SMTP server, sms on a local SendSms provider), then what
is particular to each, then ``channels_from_config``.

The servers are in process (threads) and quick: the fast tier.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time

import pytest

from services.notify.channels import Channel, Message, Outcome, channels_from_config
from services.notify.channels.aliyun_sms import AliyunSmsChannel, parse_templates, signature
from services.notify.channels.smtp import SmtpChannel
from tests.conftest import unique
from tests.support.mail import SERVER_LOGGERS, LocalSmtpServer
from tests.support.sms_provider import LocalSmsProvider, aliyun_signature
from xieshang.kernel.config import ConfigError

SENDER = "政协提案委员会 <noreply@xieshang.local>"
TIMEOUT = 0.25  # the channels' own, where a test waits for it to run out
KEY_ID, SECRET = "LTAI-test-key", "a-test-secret-of-the-provider"
TEMPLATES = {"proposal_assigned": "SMS_100000001", "*": "SMS_100000000"}


def an_email(kind: str = "proposal_assigned") -> Message:
    n = unique("n")
    return Message(f"{n}.email@xieshang", "email", f"member.{n}@example.org",
                   subject=f"提案 {n} 已交办 / assigned", text=f"您好，提案 {n} 已交办给承办单位。\n",
                   template=kind, params={"case": n})


def an_sms(kind: str = "proposal_assigned") -> Message:
    n = unique("n")
    phone = "139" + "".join(random.choice("0123456789") for _ in range(8))
    return Message(f"{n}.sms@xieshang", "sms", phone, subject="提案已交办", text="",
                   template=kind, params={"case": n, "unit": "市住建局"})


# -- the channels under one contract ---------------------------------------------------------
class EmailKit:
    name = "email"
    transient, permanent = 451, 550

    message = staticmethod(an_email)

    def __init__(self, server: LocalSmtpServer | None = None):
        self.server = server or LocalSmtpServer()

    def channel(self, host=None, port=None, timeout=5.0) -> Channel:
        return SmtpChannel(host or self.server.host, port or self.server.port, sender=SENDER,
                           timeout=timeout)

    def fail_next(self, n, code):
        self.server.fail_next(n, code)

    def delivered(self, n=0):
        return self.server.wait_for(n) if n else list(self.server.messages)

    def check_arrived(self, message: Message, mail) -> None:
        assert mail["Message-ID"] == f"<{message.message_id}>"
        assert mail["Subject"] == message.subject
        assert mail["To"] == message.to
        assert mail.get_content_type() == "text/plain"
        assert mail.get_content_charset() == "utf-8"
        assert mail.get_content().replace("\r\n", "\n") == message.text  # CRLF: canonical text
        assert mail["From"].addresses[0].display_name == "政协提案委员会"

    def close(self):
        self.server.close()


class SmsKit:
    name = "sms"
    transient, permanent = "isv.BUSINESS_LIMIT_CONTROL", "isv.MOBILE_NUMBER_ILLEGAL"

    message = staticmethod(an_sms)

    def __init__(self, server: LocalSmsProvider | None = None):
        self.server = server or LocalSmsProvider(KEY_ID, SECRET)

    def channel(self, host=None, port=None, timeout=5.0, secret=SECRET) -> Channel:
        endpoint = f"http://{host}:{port}/" if host else self.server.endpoint
        return AliyunSmsChannel(endpoint, access_key_id=KEY_ID, access_key_secret=secret,
                                sign_name="石嘴山市政协", templates=TEMPLATES, timeout=timeout)

    def fail_next(self, n, code):
        self.server.fail_next(n, code)

    def delivered(self, n=0):
        return self.server.wait_for(n) if n else list(self.server.messages)

    def check_arrived(self, message: Message, sms) -> None:
        assert sms["OutId"] == message.message_id
        assert sms["PhoneNumbers"] == message.to
        assert sms["TemplateCode"] == TEMPLATES[message.template]
        assert json.loads(sms["TemplateParam"]) == dict(message.params)
        assert sms["SignName"] == "石嘴山市政协"

    def close(self):
        self.server.close()


@pytest.fixture(params=[EmailKit, SmsKit], ids=["email", "sms"])
def kit(request):
    kit = request.param()
    yield kit
    kit.close()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never says a word (a hung server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def closed_port():
    """A port nobody listens on (a server that is down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_sent_message_arrives_once_with_its_id(kit):
    message = kit.message()
    outcome = kit.channel().send(message)
    assert outcome.status == "sent", outcome
    [arrived] = kit.delivered(1)
    kit.check_arrived(message, arrived)
    if kit.name == "sms":
        assert outcome.provider_id == arrived["BizId"]


def test_a_transient_refusal_is_retry_and_the_next_attempt_arrives(kit):
    channel, message = kit.channel(), kit.message()
    kit.fail_next(1, kit.transient)
    first = channel.send(message)
    assert first.status == "retry" and str(kit.transient) in first.detail, first
    assert kit.delivered() == []
    assert channel.send(message).status == "sent"
    [arrived] = kit.delivered(1)
    kit.check_arrived(message, arrived)


def test_a_permanent_refusal_is_failed(kit):
    kit.fail_next(1, kit.permanent)
    outcome = kit.channel().send(kit.message())
    assert outcome.status == "failed" and str(kit.permanent) in outcome.detail, outcome
    assert kit.delivered() == []


def test_a_server_that_is_down_is_retry(kit, closed_port):
    outcome = kit.channel("127.0.0.1", closed_port).send(kit.message())
    assert outcome.status == "retry", outcome


def test_a_server_that_hangs_is_retry_within_the_timeout(kit, silent_port):
    started = time.monotonic()
    outcome = kit.channel("127.0.0.1", silent_port, timeout=TIMEOUT).send(kit.message())
    took = time.monotonic() - started
    assert outcome.status == "retry" and "timed out" in outcome.detail, outcome
    assert TIMEOUT * 0.8 <= took < TIMEOUT + 2, took


def test_the_address_is_in_no_outcome_log_record_or_repr(kit, caplog, closed_port, silent_port):
    caplog.set_level(logging.DEBUG)
    message = kit.message()
    channel = kit.channel()
    kit.fail_next(1, kit.transient)
    kit.fail_next(1, kit.permanent)
    outcomes = [channel.send(message), channel.send(message), channel.send(message),
                kit.channel("127.0.0.1", closed_port).send(message),
                kit.channel("127.0.0.1", silent_port, timeout=TIMEOUT).send(message)]
    assert [o.status for o in outcomes] == ["retry", "failed", "sent", "retry", "retry"]
    for outcome in outcomes:
        assert message.to not in f"{outcome!r} {outcome.detail}"
    ours = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGERS)]
    assert any(message.message_id in r.getMessage() for r in ours)  # the adapter did log
    for record in ours:
        assert message.to not in record.getMessage(), record.name
    assert message.to not in repr(message) and message.to not in repr(channel)


def test_a_message_says_no_address_and_an_outcome_only_known_states():
    message = Message("m1.email@xieshang", "email", "secret.person@example.org", "t", "x")
    assert "secret.person" not in repr(message) and "secret.person" not in str(message)
    with pytest.raises(ValueError):
        Message("m1", "fax", "x", "t", "x")
    with pytest.raises(ValueError):
        Outcome("maybe")


# -- e-mail ----------------------------------------------------------------------------------
def test_starttls_and_login_against_a_server_that_requires_them():
    with LocalSmtpServer(starttls=True, auth=("notify", "the-password")) as server:
        kit = EmailKit(server)
        message = kit.message()
        channel = SmtpChannel(server.host, server.port, sender=SENDER, starttls=True,
                              username="notify", password="the-password",
                              ssl_context=server.client_ssl_context(), timeout=5)
        assert channel.send(message).status == "sent"
        [mail] = server.wait_for(1)
        kit.check_arrived(message, mail)
        assert server.logins == ["notify"]

        # without STARTTLS the server takes no mail
        plain = SmtpChannel(server.host, server.port, sender=SENDER, timeout=5)
        refused = plain.send(kit.message())
        assert refused.status == "failed" and "530" in refused.detail, refused

        # a certificate nobody vouched for
        untrusted = SmtpChannel(server.host, server.port, sender=SENDER, starttls=True,
                                username="notify", password="the-password", timeout=5)
        outcome = untrusted.send(kit.message())
        assert outcome.status == "failed" and "certificate" in outcome.detail, outcome
        assert len(server.messages) == 1


def test_a_wrong_password_is_failed_and_says_authentication():
    with LocalSmtpServer(starttls=True, auth=("notify", "the-password")) as server:
        channel = SmtpChannel(server.host, server.port, sender=SENDER, starttls=True,
                              username="notify", password="not-the-password",
                              ssl_context=server.client_ssl_context(), timeout=5)
        outcome = channel.send(an_email())
        assert outcome.status == "failed" and "authentication" in outcome.detail, outcome
        assert "535" in outcome.detail and "the-password" not in outcome.detail
        assert server.messages == [] and server.logins == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's, meant
def test_login_on_a_plain_connection_and_implicit_tls():
    with LocalSmtpServer(auth=("notify", "pw")) as server:
        channel = SmtpChannel(server.host, server.port, sender=SENDER, username="notify",
                              password="pw", timeout=5)
        assert channel.send(an_email()).status == "sent"
        assert server.logins == ["notify"]
    with LocalSmtpServer(implicit_tls=True) as server:
        channel = SmtpChannel(server.host, server.port, sender=SENDER, ssl=True,
                              ssl_context=server.client_ssl_context(), timeout=5)
        message = an_email()
        assert channel.send(message).status == "sent"
        [mail] = server.wait_for(1)
        assert mail["Message-ID"] == f"<{message.message_id}>"


def test_a_refused_mail_body_is_classified_by_its_code():
    with LocalSmtpServer() as server:
        channel = SmtpChannel(server.host, server.port, sender=SENDER, timeout=5)
        server.fail_next(1, 452, at="data")
        server.fail_next(1, 554, at="data")
        assert channel.send(an_email()).status == "retry"
        outcome = channel.send(an_email())
        assert outcome.status == "failed" and outcome.detail.startswith("SMTP 554 5.7.1"), outcome
        assert server.envelopes == []


def test_what_is_not_an_address_is_failed_before_any_connection(closed_port):
    channel = SmtpChannel("127.0.0.1", closed_port, sender=SENDER, timeout=5)
    for to in ("not-an-address", "a@b.org\r\nBcc: c@d.org"):
        message = Message("m.email@xieshang", "email", to, "t", "x")
        assert channel.send(message) == Outcome("failed", "not an e-mail address")


# -- SMS -------------------------------------------------------------------------------------
def test_the_signature_is_aliyuns_own_example():
    # The worked example of Aliyun's SMS API documentation (签名机制), GET with Format XML.
    params = {"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
              "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
              "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
              "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
              "Version": "2017-05-25"}
    assert signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_signature("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_a_wrong_secret_is_refused_by_the_provider_and_failed():
    with LocalSmsProvider(KEY_ID, SECRET) as provider:
        kit = SmsKit(provider)
        message = kit.message()
        outcome = kit.channel(secret="not-the-secret").send(message)
        assert outcome.status == "failed" and "SignatureDoesNotMatch" in outcome.detail, outcome
        assert provider.refused == ["SignatureDoesNotMatch"] and provider.messages == []
        assert message.to not in outcome.detail  # the provider's answer quoted it


def test_sms_templates_by_kind_with_a_fallback_and_failures_by_code():
    with LocalSmsProvider(KEY_ID, SECRET) as provider:
        kit = SmsKit(provider)
        channel = kit.channel()
        assert channel.send(kit.message("proposal_replied")).status == "sent"
        assert provider.wait_for(1)[0]["TemplateCode"] == "SMS_100000000"  # "*"
        provider.fail_next(1, 503)
        assert channel.send(kit.message()).detail == "HTTP 503"
        provider.fail_next(1, "Throttling.User")
        assert channel.send(kit.message()).status == "retry"
        provider.fail_next(1, "isv.AMOUNT_NOT_ENOUGH")
        assert channel.send(kit.message()) == Outcome("failed", "isv.AMOUNT_NOT_ENOUGH")
        assert len(provider.messages) == 1

    only_kind = AliyunSmsChannel("http://127.0.0.1:9/", access_key_id=KEY_ID, access_key_secret=SECRET,
                                 sign_name="s", templates={"proposal_assigned": "SMS_1"})
    outcome = only_kind.send(an_sms("proposal_replied"))
    assert outcome.status == "failed" and "no SMS template" in outcome.detail
    assert only_kind.send(Message("m.sms", "sms", "not a number", "t", "x", "proposal_assigned")) == \
        Outcome("failed", "not a mobile number")


def test_sms_templates_are_parsed_from_one_setting():
    assert parse_templates(" proposal_assigned:SMS_1 , *:SMS_0,") == {"proposal_assigned": "SMS_1", "*": "SMS_0"}
    for wrong in ("", "SMS_1", "kind:", ":SMS_1"):
        with pytest.raises(ValueError):
            parse_templates(wrong)


# -- channels_from_config --------------------------------------------------------------------
@pytest.fixture
def no_channel_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith(("XIESHANG_SMTP_", "XIESHANG_SMS_")):
            monkeypatch.delenv(key)
    return monkeypatch


def test_no_channel_without_its_host_or_endpoint(no_channel_env):
    assert channels_from_config({}) == {}
    assert channels_from_config({"XIESHANG_SMTP_HOST": "", "XIESHANG_SMS_ENDPOINT": "",
                                 "XIESHANG_SMTP_PORT": "2525"}) == {}


def test_channels_read_from_the_config_then_the_environment(no_channel_env):
    no_channel_env.setenv("XIESHANG_SMTP_HOST", "env-relay.example.org")
    no_channel_env.setenv("XIESHANG_SMTP_PASSWORD", "from-the-environment")
    channels = channels_from_config({
        "XIESHANG_SMTP_HOST": "relay.example.org", "XIESHANG_SMTP_PORT": "2525",
        "XIESHANG_SMTP_STARTTLS": "1", "XIESHANG_SMTP_USERNAME": "notify",
        "XIESHANG_SMTP_SENDER": SENDER, "XIESHANG_SMTP_TIMEOUT": "3",
        "XIESHANG_SMS_ENDPOINT": "https://dysmsapi.aliyuncs.com", "XIESHANG_SMS_ACCESS_KEY_ID": KEY_ID,
        "XIESHANG_SMS_ACCESS_KEY_SECRET": SECRET, "XIESHANG_SMS_SIGN_NAME": "石嘴山市政协",
        "XIESHANG_SMS_TEMPLATES": "proposal_assigned:SMS_1,*:SMS_0"})
    email, sms = channels["email"], channels["sms"]
    assert isinstance(email, SmtpChannel) and email.name == "email"
    assert (email.host, email.port, email.starttls, email.ssl, email.username, email.timeout) == (
        "relay.example.org", 2525, True, False, "notify", 3.0)
    assert email.sender == SENDER and email._password == "from-the-environment"
    assert isinstance(sms, AliyunSmsChannel) and sms.name == "sms"
    assert sms.endpoint == "https://dysmsapi.aliyuncs.com/" and sms.region == "cn-hangzhou"
    assert sms.templates == {"proposal_assigned": "SMS_1", "*": "SMS_0"} and sms.timeout == 10.0
    assert "from-the-environment" not in repr(email) and SECRET not in repr(sms)

    no_channel_env.delenv("XIESHANG_SMTP_PASSWORD")
    defaults = channels_from_config({"XIESHANG_SMTP_SSL": "1"})["email"]
    assert (defaults.host, defaults.port, defaults.ssl) == ("env-relay.example.org", 465, True)
    assert channels_from_config({"XIESHANG_SMTP_HOST": "h"})["email"].port == 25


def test_a_configured_channel_sends_through_its_server(no_channel_env):
    with LocalSmtpServer() as server:
        [channel] = channels_from_config({"XIESHANG_SMTP_HOST": server.host,
                                          "XIESHANG_SMTP_PORT": str(server.port)}).values()
        assert channel.send(an_email()).status == "sent"
        assert server.wait_for(1)[0]["From"] == "noreply@xieshang.local"


@pytest.mark.parametrize("config, says", [
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_PORT": "smtp"}, "XIESHANG_SMTP_PORT"),
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_PORT": "70000"}, "XIESHANG_SMTP_PORT"),
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_STARTTLS": "1", "XIESHANG_SMTP_SSL": "1"}, "not both"),
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_STARTTLS": "maybe"}, "XIESHANG_SMTP_STARTTLS"),
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_TIMEOUT": "0"}, "XIESHANG_SMTP_TIMEOUT"),
    ({"XIESHANG_SMTP_HOST": "h", "XIESHANG_SMTP_PASSWORD": "p"}, "XIESHANG_SMTP_USERNAME"),
    ({"XIESHANG_SMS_ENDPOINT": "https://dysmsapi.aliyuncs.com/"}, "XIESHANG_SMS_ACCESS_KEY_ID"),
    ({"XIESHANG_SMS_ENDPOINT": "https://x/", "XIESHANG_SMS_ACCESS_KEY_ID": "k",
      "XIESHANG_SMS_ACCESS_KEY_SECRET": "s", "XIESHANG_SMS_SIGN_NAME": "n",
      "XIESHANG_SMS_TEMPLATES": "SMS_1"}, "XIESHANG_SMS_TEMPLATES"),
])
def test_a_wrong_setting_is_named(no_channel_env, config, says):
    with pytest.raises(ConfigError, match=says):
        channels_from_config(config)
