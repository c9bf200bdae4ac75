"""The staff dashboard as a command.

python -m bot.staff                      serve (make staff; make run starts it too)
python -m bot.staff create-admin NAME    the first admin: asks for a password, prints
                                         the TOTP key for an authenticator app
python -m bot.staff create-admin NAME --password-stdin   (password on standard input)
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from bot.bootstrap import services
from bot.privacy import log_filter
from bot.staff.accounts import AccountError, Accounts
from bot.staff.security import TotpKeyMissing, totp_uri
from bot.store.engine import make_engine, migrate


def serve() -> int:
    from bot.staff.app import create_app

    parts = services()
    settings = parts.settings
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    log_filter.install(parts.redactor)
    app = create_app(settings)
    # access_log off: Sanic's access log would record client IP addresses.
    app.run(
        host=settings.staff_host,
        port=settings.staff_port,
        access_log=False,
        motd=False,
    )
    return 0


def create_admin(username: str, password_stdin: bool) -> int:
    settings = services().settings
    migrate(settings.escalation_database_url)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        try:
            password = getpass.getpass("Lösenord (minst 12 tecken): ")
            again = getpass.getpass("Samma lösenord igen: ")
        except EOFError:
            print(
                "Inget lösenord lästes. Kör kommandot i en terminal, eller ge lösenordet på "
                "standard input med --password-stdin.",
                file=sys.stderr,
            )
            return 2
        if password != again:
            print("Lösenorden är inte likadana.", file=sys.stderr)
            return 2
    try:
        secret = Accounts(
            make_engine(settings.escalation_database_url), settings.staff_totp_key
        ).create_admin(username, password)
    except AccountError as error:
        print(f"Kontot skapades inte: {error.code}", file=sys.stderr)
        return 2
    except TotpKeyMissing:
        print("Kontot skapades inte: STAFF_TOTP_KEY saknas i .env (kör make env).", file=sys.stderr)
        return 2
    print(f"Administratören {username} är skapad.")
    print("Lägg till kontot i en autentiseringsapp (TOTP) med den här nyckeln:")
    print(f"  {secret}")
    print(f"  {totp_uri(secret, username)}")
    print(f"Logga sedan in på {settings.dashboard_url}/login")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.staff", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve")
    admin = commands.add_parser("create-admin")
    admin.add_argument("username")
    admin.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "create-admin":
        return create_admin(args.username, args.password_stdin)
    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
