"""The `noisebank` command.

    noisebank demo      migrate, seed demo data if empty, run web server + worker, print logins
    noisebank serve     the ASGI web server (uvicorn)
    noisebank worker    the background task worker (django-tasks-db)
    noisebank manage …  any Django management command (also: `noisebank <command> …`)

Every Django management command also works directly: `noisebank seed --count 1000`,
`noisebank token create alice`, `noisebank migrate`, ...
"""

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    import django

    django.setup()


def _default_port() -> int:
    raw = os.environ.get("NOISEBANK_PORT", "8000")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"noisebank: NOISEBANK_PORT={raw!r} is not a port number (1-65535).")
    return int(raw)


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in one line; None if it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"Port {port} on {host} is already in use; stop what is using it "
                    f"or choose another port (--port, or NOISEBANK_PORT)."
                )
            return f"Cannot listen on {host}:{port}: {e.strerror}."
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"noisebank: {problem}", file=sys.stderr)
        return 1
    import uvicorn

    uvicorn.run(
        "noisebank.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("NOISEBANK_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        lifespan="off",
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command

    from noisebank.ingest.chunks import uploads_sweep_expired
    from noisebank.ingest.services import recordings_sweep_stale

    # A worker that died mid-task left its recording in `processing`: recover those first.
    requeued, failed = recordings_sweep_stale()
    expired = uploads_sweep_expired()
    if args.verbosity and (requeued or failed or expired):
        print(
            f"Recovered {requeued} interrupted recording(s), failed {failed}; "
            f"removed {expired} expired upload(s).",
            flush=True,
        )
    call_command(
        "db_worker",
        queue_name="*",
        interval=args.interval,
        reload=False,
        startup_delay=False,
        verbosity=args.verbosity,
    )
    return 0


def _wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cmd_demo(args: argparse.Namespace) -> int:
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"noisebank: {problem}", file=sys.stderr)
        return 1
    _setup_django()
    from django.conf import settings
    from django.core.management import call_command

    from noisebank.catalog import demo

    print("Preparing the database …", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    password = os.environ.get("NOISEBANK_DEMO_PASSWORD", "noisebank-demo")
    call_command("seed", count=args.count, if_empty=True, password=password)
    db = settings.DATABASES["default"]
    where = db["NAME"] if db["ENGINE"].endswith("sqlite3") else f"{db['ENGINE']} {db['NAME']}"

    me = [sys.executable, "-m", "noisebank.cli"]
    server = subprocess.Popen([*me, "serve", "--host", args.host, "--port", str(args.port)])
    worker = subprocess.Popen([*me, "worker", "--verbosity", "0"])
    procs = [server, worker]
    url = f"http://{args.host}:{args.port}"
    try:
        if not _wait_until_up(f"{url}/healthz", server):
            print(
                "noisebank: the web server did not start; see the messages above.", file=sys.stderr
            )
            _stop(procs)
            return 1
        logins = "\n".join(
            f"    {user:<11} {pw}   ({role})" for user, pw, role in demo.iter_demo_logins(password)
        )
        print(
            f"\nNoisebank is running with its task worker; database: {where}\n\n"
            f"  Open     {url}/recordings/\n"
            f"  Log in   (user name, password)\n{logins}\n"
            f"  Admin    {url}/admin/    API docs  {url}/api/v1/docs\n\n"
            f"Press Ctrl-C to stop both.\n",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        dead = "web server" if server.poll() is not None else "worker"
        print(f"noisebank: the {dead} stopped unexpectedly; stopping the demo.", file=sys.stderr)
        _stop(procs)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the web server and the worker …", flush=True)
        _stop(procs)
        print("Stopped.")
        return 0


def cmd_manage(argv: Sequence[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["noisebank", *argv])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="noisebank",
        description="Noisebank: collect, measure and publish field noise recordings.",
        epilog="Any Django management command also works: noisebank seed --count 1000, "
        "noisebank token create USERNAME, noisebank migrate, noisebank help.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="Run the demo: migrate, seed if empty, serve + worker.")
    demo.add_argument("--host", default=DEFAULT_HOST)
    demo.add_argument("--port", type=int, default=None, help="Default: $NOISEBANK_PORT or 8000.")
    demo.add_argument(
        "--count",
        type=int,
        default=int(os.environ.get("NOISEBANK_DEMO_COUNT", "23453")),
        help="Recordings to seed into an empty database (default: $NOISEBANK_DEMO_COUNT or 23453).",
    )
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="Run the ASGI web server (uvicorn).")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=None, help="Default: $NOISEBANK_PORT or 8000.")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes.")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="Run the background task worker.")
    worker.add_argument(
        "--interval", type=float, default=0.2, help="Seconds between polls when idle (0.2)."
    )
    worker.add_argument("--verbosity", type=int, default=1)
    worker.set_defaults(func=cmd_worker)

    sub.add_parser("manage", help="Run a Django management command: noisebank manage CMD …")
    return parser


OWN_COMMANDS = {"demo", "serve", "worker"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "manage":
        return cmd_manage(argv[1:])
    if argv and argv[0] not in OWN_COMMANDS and not argv[0].startswith("-"):
        return cmd_manage(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "port", "absent") is None:
        args.port = _default_port()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
