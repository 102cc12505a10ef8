"""The `noisebank` command.

    noisebank demo      migrate, seed demo data if empty, run web server + worker, print logins
    noisebank serve     the ASGI web server (uvicorn)
    noisebank worker    the background task worker (django-tasks-db)
    noisebank nginx-config   the nginx configuration for this install, from deploy/
    noisebank manage …  any Django management command (also: `noisebank <command> …`)

Every Django management command also works directly: `noisebank seed --count 1000`,
`noisebank token create alice`, `noisebank migrate`, ...
"""

import sys

from noisebank.lib import stopping

if sys.argv[1:2] == ["worker"]:
    # First thing: a SIGTERM/SIGINT during start-up must end the worker with status 0, not
    # kill it half-way (noisebank.lib.stopping).
    stopping.install()

import argparse
import errno
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence

DEFAULT_HOST = "127.0.0.1"
MAX_REQUEST_HEAD_BYTES = 128 * 1024  # request line and headers; nginx: large_client_header_buffers


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
    from noisebank.lib.logs import logging_config

    problem = port_problem(args.host, args.port)
    if problem:
        print(f"noisebank: {problem}", file=sys.stderr)
        return 1
    try:
        log_config = logging_config(
            os.environ.get("NOISEBANK_LOG_FORMAT", "plain"),
            os.environ.get("NOISEBANK_LOG_LEVEL", "INFO"),
        )
    except ValueError as e:
        print(f"noisebank: {e}", file=sys.stderr)
        return 1
    own_metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each uvicorn worker is a process: without a shared directory a scrape of /metrics
        # would see one random worker's counters (noisebank.ops.metrics).
        own_metrics_dir = tempfile.mkdtemp(prefix="noisebank-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own_metrics_dir
    import uvicorn

    try:
        uvicorn.run(
            "noisebank.asgi:application",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            log_config=log_config,
            access_log=False,  # noisebank.request logs each request with its id
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("NOISEBANK_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            lifespan="off",
            # A request line may hold 1,000 noise_ids (catalog.filters.NOISE_ID_MAX): about
            # 75 KB at the most, over h11's 16 KB default; nginx allows the same.
            h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
        )
    finally:
        if own_metrics_dir:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # called as main([...]), not argv
        stopping.install()
    _setup_django()
    from noisebank.ops.worker import worker_main

    return worker_main(interval=args.interval, verbosity=args.verbosity)


def cmd_nginx_config(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")
    from noisebank.ops.nginx import NginxConfigError, render_for_this_install

    try:
        text = render_for_this_install(os.environ)
    except NginxConfigError as e:
        print(f"noisebank: {e}", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _wait_until_up(
    url: str, server: subprocess.Popen[bytes], stop: stopping.SignalFlag, timeout: float = 60
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
                if response.status == 200:
                    return True
        except OSError:
            stop.wait(0.2)
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
    # Anyone may try signing up on a demo; its e-mails go to this console.
    os.environ.setdefault("NOISEBANK_SIGNUP", "open")
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

    # Ctrl-C (SIGINT to the whole process group) or a plain `kill` (SIGTERM to us alone) both
    # stop the demo: flag it here rather than rely on KeyboardInterrupt reaching us first.
    stop = stopping.SignalFlag()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    me = [sys.executable, "-m", "noisebank.cli"]
    server = subprocess.Popen([*me, "serve", "--host", args.host, "--port", str(args.port)])
    with stopping.blocked():  # a Ctrl-C at once still reaches the worker's handler: status 0
        worker = subprocess.Popen([*me, "worker", "--verbosity", "0"])
    procs = [server, worker]
    url = f"http://{args.host}:{args.port}"
    if not _wait_until_up(f"{url}/healthz", server, stop):
        if not stop.is_set():
            print(
                "noisebank: the web server did not start; see the messages above.", file=sys.stderr
            )
        _stop(procs)
        return 0 if stop.is_set() else 1
    logins = "\n".join(
        f"    {user:<11} {pw}   ({role})" for user, pw, role in demo.iter_demo_logins(password)
    )
    print(
        f"\nNoisebank is running with its task worker; database: {where}\n\n"
        f"  Open     {url}/recordings/\n"
        f"  Log in   (user name, password)\n{logins}\n"
        f"  Admin    {url}/admin/    API docs  {url}/api/v1/docs\n"
        f"  Sign up  {url}/accounts/signup/ (NOISEBANK_SIGNUP={settings.NOISEBANK_SIGNUP})\n\n"
        f"E-mails (sign-up codes, password resets, review decisions) are printed here, in this\n"
        f"console, not sent: set NOISEBANK_EMAIL_HOST to send them.\n\n"
        f"Press Ctrl-C to stop both.\n",
        flush=True,
    )
    while not stop.is_set() and all(p.poll() is None for p in procs):
        stop.wait(0.5)
    # A child that exits cleanly or by SIGINT/SIGTERM was told to stop by whoever signalled the
    # process group, possibly a moment before our own handler ran.
    asked = stop.wait(0.5) or all(
        p.returncode in (None, 0, -signal.SIGINT, -signal.SIGTERM) for p in procs
    )
    if asked:
        print("\nStopping the web server and the worker …", flush=True)
        _stop(procs)
        print("Stopped.")
        return 0
    dead = "web server" if server.returncode is not None else "worker"
    print(f"noisebank: the {dead} stopped unexpectedly; stopping the demo.", file=sys.stderr)
    _stop(procs)
    return 1


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

    nginx = sub.add_parser(
        "nginx-config",
        help="Print the nginx configuration for this install (deploy/nginx.conf.template).",
        description="Render deploy/nginx.conf.template. Values come from the environment "
        "(NOISEBANK_NGINX_LISTEN, NOISEBANK_UPSTREAM, NOISEBANK_NGINX_PID, …); the media and "
        "export folders and the upload limit default to this install's settings.",
    )
    nginx.add_argument("--output", "-o", help="Write to this file instead of standard output.")
    nginx.set_defaults(func=cmd_nginx_config)

    sub.add_parser("manage", help="Run a Django management command: noisebank manage CMD …")
    return parser


OWN_COMMANDS = {"demo", "serve", "worker", "nginx-config"}


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
