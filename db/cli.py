"""`python -m db COMMAND`: set up, fill and report on the clinic database.

Exit status 0 on success; a user's mistake gives a plain message and a
non-zero status, never a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import date

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from .engine import make_engine, session_factory


class UserError(Exception):
    """A mistake the user can fix; its text is shown as is."""


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in the form YYYY-MM-DD") from None


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _open():
    from .migrate import upgrade

    engine = make_engine()
    upgrade(engine)
    return engine, session_factory(engine)


def cmd_init(args) -> int:
    engine, _ = _open()
    print(f"Database is at the newest schema: {engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_import(args) -> int:
    from .importer import SHELL, ImportFailed, NothingToImport, import_directory

    _, factory = _open()
    with factory() as session:
        try:
            # import_directory commits by itself (or rolls back and raises). Whoever
            # runs this command can reach the database: it acts as the server's
            # operator (role SHELL), and confirms account changes with the flag.
            summary = import_directory(session, args.directory, progress=sys.stderr.isatty(),
                                       dry_run=args.dry_run, role=SHELL,
                                       allow_account_changes=args.allow_account_changes)
        except NothingToImport as exc:
            raise UserError(str(exc)) from None
        except ImportFailed as failure:
            for problem in failure.problems:
                print(problem, file=sys.stderr)
            shown = len(failure.problems)
            more = f" (the first {shown} are listed)" if failure.total > shown else ""
            print(f"Import refused: {failure.total} problem(s){more}; nothing was written.",
                  file=sys.stderr)
            return 1
    print(summary)
    return 0


def cmd_demo(args) -> int:
    from .demo import DemoError, generate_demo

    _, factory = _open()
    with factory() as session:
        try:
            summary = generate_demo(session, patients=args.patients, seed=args.seed,
                                    as_of=args.as_of or date.today(),
                                    progress=sys.stderr.isatty())
        except DemoError as exc:
            raise UserError(str(exc)) from None
    print(summary)
    return 0


def cmd_report(args) -> int:
    from . import reports

    _, factory = _open()
    with factory() as session:
        reports.run(session, args.kind, as_of=args.as_of or date.today(), fmt=args.format,
                    weeks=args.weeks, out=sys.stdout)
    return 0


def _read_new_password(username: str) -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("no password on standard input")
        return password
    first = getpass.getpass(f"New password for {username}: ")
    second = getpass.getpass("Repeat it: ")
    if first != second:
        raise UserError("the two passwords differ; nothing was changed")
    return first


def cmd_users(args) -> int:
    from . import auth, staff

    _, factory = _open()
    with factory() as session:
        try:
            if args.action == "add":
                row = staff.add_user(session, args.username, args.name, args.role, args.email)
                session.commit()
                print(f"Added {row.username} ({row.role}). Set a password with "
                      f"`python -m db users set-password {row.username}`.")
            elif args.action == "set-password":
                if staff.get_by_username(session, args.username.lower()) is None:
                    raise UserError(f"no user named {args.username!r}")
                password = _read_new_password(args.username)
                staff.set_password(session, args.username.lower(), password)
                # The new password makes any guessing moot: lift every pause on the account.
                auth.unlock(session, args.username, actor="cli")
                session.commit()
                print(f"Password set for {args.username}; their other sessions were ended and "
                      "any sign-in pause on the account was lifted.")
            elif args.action == "unlock":
                cleared = auth.unlock(session, args.username, actor="cli")
                session.commit()
                print(f"Sign-in pauses on {args.username} lifted from every address "
                      f"({cleared} cleared).")
            elif args.action == "deactivate":
                staff.deactivate(session, args.username.lower())
                session.commit()
                print(f"Deactivated {args.username}; their sessions were ended.")
            else:
                rows = staff.list_users(session)
                print(f"{'username':<24} {'role':<18} {'active':<7} {'password':<9} full name")
                for r in rows:
                    print(f"{r.username:<24} {r.role:<18} {'yes' if r.active else 'no':<7} "
                          f"{'set' if r.has_password else 'not set':<9} {r.full_name}")
        except (staff.StaffError, ValueError) as exc:
            session.rollback()
            raise UserError(str(exc)) from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m db", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", help="create or migrate the database to the newest schema")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="import a clinic's CSV export from a folder")
    p.add_argument("directory", help="folder holding staff.csv, patients.csv, ... (each optional)")
    p.add_argument("--dry-run", action="store_true",
                   help="check every row and list what would change; write nothing")
    p.add_argument("--allow-account-changes", action="store_true",
                   help="confirm the staff accounts this import creates and the roles it "
                        "changes (without it, such an import is refused)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("demo", help="fill the database with a synthetic demo clinic")
    p.add_argument("--patients", type=_positive, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--as-of", type=_as_of, help="the demo clinic's today (default: today)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("report", help="protocol reports: compliance, adherence, outcomes")
    p.add_argument("kind", choices=["compliance", "adherence", "outcomes"])
    p.add_argument("--as-of", type=_as_of, help="default: today")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--weeks", type=_positive, default=4, help="adherence window in weeks")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("users", help="staff accounts")
    users = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = users.add_parser("add", help="add a staff account")
    a.add_argument("username")
    a.add_argument("--name", required=True)
    a.add_argument("--role", required=True, choices=["therapist", "medical_director", "admin", "team_screen"])
    a.add_argument("--email")
    a = users.add_parser("set-password", help="set a password (stdin when not a terminal)")
    a.add_argument("username")
    a = users.add_parser("unlock", help="lift every sign-in pause (throttle) on an account")
    a.add_argument("username")
    users.add_parser("list", help="list staff accounts")
    a = users.add_parser("deactivate", help="deactivate an account and end its sessions")
    a.add_argument("username")
    p.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"error: cannot reach the database ({exc.orig.__class__.__name__}). "
              "Check DATABASE_URL.", file=sys.stderr)
        return 3
    except SQLAlchemyError as exc:
        print(f"error: the database refused the change: {exc.__class__.__name__}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; nothing more was written", file=sys.stderr)
        return 130
