"""Staff e-mail over verified TLS (issue 17), against a real SMTP server (aiosmtpd) with a
certificate from a test CA made here: STARTTLS and implicit TLS verify the certificate, and
a password never goes over a connection without TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.launcher import free_port
from bot.notify import Notification, Notifier
from bot.settings import Settings
from tests.support.staff_receivers import Inbox

NOTIFICATION = Notification("created", 7, "acute", ("travel",), dt.datetime.now(dt.timezone.utc))


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _certificate(subject, issuer, public_key, signing_key, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A test CA's file and a server context whose certificate it signed (127.0.0.1)."""
    folder = tmp_path_factory.mktemp("smtp-tls")
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate(_name("Test CA"), _name("Test CA"), ca_key.public_key(), ca_key, True)
    server = _certificate(_name("127.0.0.1"), ca.subject, server_key.public_key(), ca_key, False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return str(folder / "ca.pem"), context


class Logins:
    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def serve(inbox, logins, **tls_options) -> Controller:
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=logins,
        auth_require_tls=False,  # the server would take it: the client must refuse
        **tls_options,
    )
    controller.start()
    return controller


def settings(port: int, **smtp) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=port,
        notify_email_from="vagvisaren@kommun.example",
        notify_email_to=("jour@kommun.example",),
        dashboard_url="https://granskning.kommun.example",
        pseudonym_key="k",
        **smtp,
    )


async def test_starttls_verifies_the_certificate_and_then_logs_in(tls):
    ca_file, context = tls
    inbox, logins = Inbox(), Logins()
    controller = serve(inbox, logins, tls_context=context, require_starttls=True)
    try:
        config = settings(
            controller.port,
            smtp_starttls=True,
            smtp_ca_file=ca_file,
            smtp_user="jour",
            smtp_password="hemligt",
        )
        assert await Notifier(config).notify(NOTIFICATION) == {"email": True}
        assert len(inbox.messages) == 1 and logins.seen == [("jour", "hemligt")]
    finally:
        controller.stop()


async def test_a_certificate_the_system_does_not_trust_is_refused(tls):
    _, context = tls
    inbox, logins = Inbox(), Logins()
    controller = serve(inbox, logins, tls_context=context, require_starttls=True)
    try:
        config = settings(controller.port, smtp_starttls=True, smtp_user="jour", smtp_password="x")
        assert await Notifier(config).notify(NOTIFICATION) == {"email": False}
        assert inbox.messages == [] and logins.seen == []
    finally:
        controller.stop()


async def test_implicit_tls_verifies_the_certificate(tls):
    ca_file, context = tls
    inbox, logins = Inbox(), Logins()
    controller = serve(inbox, logins, ssl_context=context)
    try:
        config = settings(controller.port, smtp_ssl=True, smtp_ca_file=ca_file)
        assert await Notifier(config).notify(NOTIFICATION) == {"email": True}
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


async def test_a_password_is_never_sent_without_tls_unless_allowed(tls):
    inbox, logins = Inbox(), Logins()
    controller = serve(inbox, logins)
    try:
        config = settings(controller.port, smtp_user="jour", smtp_password="hemligt")
        assert await Notifier(config).notify(NOTIFICATION) == {"email": False}
        assert logins.seen == [] and inbox.messages == []
        allowed = settings(
            controller.port,
            smtp_user="jour",
            smtp_password="hemligt",
            smtp_allow_plain_login=True,
        )
        assert await Notifier(allowed).notify(NOTIFICATION) == {"email": True}
    finally:
        controller.stop()
