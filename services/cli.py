"""`ytcs`: the command-line tool (docs/contract.md "Starting it")."""

from __future__ import annotations

import argparse
import getpass
import sys

from services.common import config


def migrate_all(verbose: bool = False) -> None:
    """Apply every service's migrations and load the reference data (idempotent)."""
    from services.common.db import make_engine, transaction
    from services.common.migrate import DB_SERVICES, upgrade

    for service in DB_SERVICES:
        upgrade(service)
    from sqlalchemy.orm import sessionmaker

    from services.finance.catalog_loader import sync_catalog
    from services.investment.register_loader import sync_register

    for service, loader in (("finance", sync_catalog), ("investment", sync_register)):
        engine = make_engine(config.db_url(service))
        with transaction(sessionmaker(engine)) as s:
            n = loader(s)
        engine.dispose()
        if verbose:
            print(f"ytcs: {service}: reference data loaded ({n} rows)", flush=True)


def _gateway_session():  # noqa: ANN202
    from sqlalchemy.orm import sessionmaker

    from services.common.db import make_engine
    from services.common.migrate import upgrade

    upgrade("gateway")
    return sessionmaker(make_engine(config.db_url("gateway")))()


def cmd_token_create(args: argparse.Namespace) -> int:
    from services.gateway import accounts

    with _gateway_session() as s:
        # Made for a person (--user): their role and unit unless given, and it stops while they are disabled.
        user = accounts.find_user(s, args.user) if args.user else None
        args.role = args.role or (user.role if user else None)
        args.unit = args.unit or (user.unit if user else None)
        if not args.role:
            print("ytcs: token create needs --role (or --user)", file=sys.stderr)
            return 2
        token = accounts.create_token(s, args.name, args.role, args.unit, user)
        s.commit()
    print(f"API token for {args.name} (role {args.role}{', unit ' + args.unit if args.unit else ''}):")
    print(token)
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Mật khẩu: ")
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user_create(args: argparse.Namespace) -> int:
    from services.gateway import accounts

    password = _read_password()
    with _gateway_session() as s:
        accounts.create_user(s, args.username, password, args.role, args.unit)
        s.commit()
    print(f"user {args.username} created (role {args.role}{', unit ' + args.unit if args.unit else ''})")
    return 0


def cmd_user_change(args: argparse.Namespace) -> int:
    """disable / enable / passwd: each ends the person's sessions where it must (accounts.py)."""
    from services.gateway import accounts

    password = _read_password() if args.action == "passwd" else ""
    with _gateway_session() as s:
        if args.action == "passwd":
            accounts.set_password(s, args.username, password)
        else:
            accounts.set_user_active(s, args.username, args.action == "enable")
        s.commit()
    if args.action == "disable":
        print(f"user {args.username} disabled (sessions ended, tokens stopped)")
    else:
        print(f"user {args.username} {'enabled' if args.action == 'enable' else 'has a new password (sessions ended)'}")
    return 0


def cmd_token_list(_args: argparse.Namespace) -> int:
    from services.gateway import accounts

    with _gateway_session() as s:
        for t in accounts.list_tokens(s):
            state = "active" if t.active else "revoked"
            print(f"{t.prefix}…\t{t.name}\t{t.role}\t{t.unit or '-'}\t{state}\t{t.created_at:%Y-%m-%d}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from services.gateway import accounts

    with _gateway_session() as s:
        n = accounts.revoke_token(s, args.prefix)
        s.commit()
    print(f"revoked {n} token(s) starting with {args.prefix[:12]}")
    return 0 if n else 1


def cmd_facility(args: argparse.Namespace) -> int:
    """The facility register (MA_CSKCB -> unit) that unit scoping of claims and capitation relies on."""
    from services.gateway.application import facilities

    with _gateway_session() as s:
        if args.action == "add":
            f = facilities.register(s, args.code, args.name, args.unit, args.kind, "cli")
            s.commit()
            print(f"facility {f.code} ({f.name}) registered to unit {f.unit} as {f.kind}")
            return 0
        from sqlalchemy import select

        from services.gateway.models import Facility

        for f in s.scalars(select(Facility).order_by(Facility.code)):
            print(f"{f.code}\t{f.unit}\t{f.kind}\t{f.name}")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    """Dead letters (services/common/dlq.py): list, show, replay (as is or with fixed data), discard."""
    import json

    from services.common import dlq

    uri = config.amqp_uri()
    if args.action == "list":
        print(dlq.format_letters(dlq.list_dead_letters(uri, args.limit)))
        return 0
    if args.action == "show":
        letter = dlq.find(uri, args.event_id)
        if letter is None:
            print(f"ytcs: no dead letter with event id {args.event_id}", file=sys.stderr)
            return 1
        print(dlq.format_letter(letter))
        return 0
    if args.action == "discard":
        gone = dlq.discard(uri, set(args.event_id), args.by, args.reason)
        print(f"discarded {len(gone)} dead letter(s); recorded in {dlq.audit_log_path()}")
        return 0 if len(gone) == len(set(args.event_id)) else 1
    # replay
    if not args.all and not args.event_id:
        print("ytcs: name the dead letters to replay (--event-id, repeatable) or say --all", file=sys.stderr)
        return 2
    data = None
    if args.data:
        text = sys.stdin.read() if args.data == "-" else open(args.data, encoding="utf-8").read()  # noqa: SIM115
        data = json.loads(text)
    ids = None if args.all else set(args.event_id)
    try:
        done = dlq.replay(uri, ids, data=data, by=args.by, reason=args.reason)
    except ValueError as exc:  # the fixed data is still wrong, or more than one event id
        print(f"ytcs: {exc}", file=sys.stderr)
        return 1
    print(dlq.format_letters(done).replace("message(s)", "message(s) replayed", 1))
    return 0 if ids is None or len(done) == len(ids) else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["claims", "generate"]:
        from services.devtools.claims_generator import main as generate

        return generate(argv[2:])
    parser = argparse.ArgumentParser(prog="ytcs", description="YTCS Finance")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="start everything and supervise it (make run)")
    run_p.add_argument(
        "--replicas",
        type=int,
        help="claims intake workers (competing consumers) beside the claims RPC process; YTCS_CLAIMS_REPLICAS (1)",
    )
    sub.add_parser("migrate", help="apply migrations and load reference data")
    serve = sub.add_parser("serve", help="run one service (or the claims intake worker) in the foreground")
    serve.add_argument("service", choices=config.PROCESSES)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    tc = token.add_parser("create")
    tc.add_argument("--name", required=True)
    tc.add_argument("--role", help="required unless --user gives it")
    tc.add_argument("--unit", help="scope: GSO code of a unit in force today, or a former district (910)")
    tc.add_argument("--user", help="a person's token: stops working while that user is disabled")
    token.add_parser("list", help="tokens by prefix, name, role, unit, state (never the token itself)")
    tr = token.add_parser("revoke", help="deactivate a token by the prefix `token list` shows")
    tr.add_argument("--prefix", required=True)

    user = sub.add_parser("user", help="logins for the web pages").add_subparsers(dest="action", required=True)
    uc = user.add_parser("create")
    uc.add_argument("--username", required=True)
    uc.add_argument("--role", required=True)
    uc.add_argument("--unit", help="scope: GSO code of a unit in force today, or a former district (910)")
    for action, text in (
        ("disable", "refuse the user's logins, end their sessions, stop their tokens"),
        ("enable", "allow the user again"),
        ("passwd", "set a new password (read from stdin like create), ending their sessions"),
    ):
        user.add_parser(action, help=text).add_argument("--username", required=True)

    facility = sub.add_parser("facility", help="the facility register (MA_CSKCB -> unit)").add_subparsers(
        dest="action", required=True
    )
    fa = facility.add_parser("add")
    fa.add_argument("--code", required=True, help="MA_CSKCB, 5 characters")
    fa.add_argument("--name", required=True)
    fa.add_argument("--unit", required=True, help="GSO code of the unit it serves, in force today")
    fa.add_argument("--kind", default="station", choices=("station", "district_centre", "other"))
    facility.add_parser("list")

    sub.add_parser("claims", help="claims tools: `ytcs claims generate --help`")

    dlq_p = sub.add_parser("dlq", help="dead letters: list, show, replay, discard").add_subparsers(
        dest="action", required=True
    )
    dlq_p.add_parser("list", help="what waits in ytcs.dead-letters (taking nothing)").add_argument(
        "--limit", type=int, default=1000
    )
    dlq_p.add_parser("show", help="one dead letter in full").add_argument("event_id")
    dr = dlq_p.add_parser("replay", help="send dead letters back to the queue each died in")
    dr.add_argument("--event-id", action="append", default=[], help="repeatable")
    dr.add_argument("--all", action="store_true")
    dr.add_argument("--data", help="JSON file (or - for stdin) replacing the event's data (one --event-id)")
    dr.add_argument("--by", help="who replays (default: the login name)")
    dr.add_argument("--reason", default="replay", help="why, for the audit log")
    dd = dlq_p.add_parser("discard", help="remove dead letters for good (recorded with who and why)")
    dd.add_argument("--event-id", action="append", required=True, help="repeatable")
    dd.add_argument("--reason", required=True)
    dd.add_argument("--by", help="who discards (default: the login name)")

    args = parser.parse_args(argv)
    from services.common.errors import DomainError

    try:
        if args.command == "run":
            try:
                from services.supervisor import run
            except KeyboardInterrupt:  # Ctrl-C before `ytcs run` has its own handler: stop, without a traceback
                return 130

            if args.replicas is not None:
                import os

                os.environ["YTCS_CLAIMS_REPLICAS"] = str(args.replicas)
            return run()
        if args.command == "migrate":
            migrate_all(verbose=True)
            return 0
        if args.command == "serve":
            import os

            # eventlet must patch the standard library before anything imports it: a fresh interpreter.
            os.execv(sys.executable, [sys.executable, "-m", "services.common.runner", args.service])  # noqa: S606
        if args.command == "token":
            return {"create": cmd_token_create, "list": cmd_token_list, "revoke": cmd_token_revoke}[args.action](args)
        if args.command == "facility":
            return cmd_facility(args)
        if args.command == "dlq":
            return cmd_dlq(args)
        if args.command == "user":
            return cmd_user_create(args) if args.action == "create" else cmd_user_change(args)
        parser.print_help()
        return 2
    except DomainError as exc:
        print(f"ytcs: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
