"""Real servers for the tests: fresh databases, `noisebank` processes, nginx, a small browser.

The processes run the way an operator runs them (`python -m noisebank.cli …`), each against a
database of its own that the test creates and drops: PostgreSQL when the suite runs on it, else a
SQLite file.
"""

import contextlib
import hashlib
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
NOISEBANK = [sys.executable, "-m", "noisebank.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_postgres() -> bool:
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a clean install: nothing inherited from the test run's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NOISEBANK_", "DATABASE", "PROMETHEUS_", "DJANGO_"))
    }
    return env | {
        "NOISEBANK_DATA_DIR": str(data_dir),
        "NOISEBANK_SECRET_KEY": secrets.token_urlsafe(40),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run a `noisebank` command to completion; its output, or a failure that shows it."""
    result = subprocess.run(
        [*NOISEBANK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(
            f"noisebank {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr


def _server_url(name: str) -> str:
    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"


def shared_test_database_url() -> str:
    """The URL of the database this test runs on (PostgreSQL), for processes to share it."""
    from django.db import connection

    return _server_url(str(connection.settings_dict["NAME"]))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def fresh_database(tag: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty database: on the suite's PostgreSQL server, else a SQLite file."""
    if not on_postgres():
        yield f"sqlite:///{folder / f'{tag}.sqlite3'}"
        return
    # Named after the suite's own database, so engineers sharing a server do not collide.
    base = str(settings.DATABASES["default"]["NAME"]).removeprefix("test_")
    name = re.sub(r"[^a-z0-9_]", "_", f"{base}_{tag}_{os.getpid()}".lower())[:63]
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _server_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TEMPLATE_PREFIX = "noisebank_test_tpl_"


def _seed_key(count: int, password: str) -> str:
    """Changes whenever what `noisebank seed` writes does: the generator or the catalogue's
    schema. (Other apps' migrations are applied to each copy instead: seeding again for them
    would cost minutes.)"""
    digest = hashlib.sha256(f"{count} {password}".encode())
    catalog = ROOT / "noisebank" / "catalog"
    sources = [
        catalog / "demo.py",
        catalog / "management" / "commands" / "seed.py",
        *sorted(catalog.glob("migrations/*.py")),
    ]
    for path in sources:
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def _seeded_template(count: int, password: str, folder: Path) -> str:
    """The name of a database seeded once with `count` recordings (no audio) and the demo
    users, kept on the server between runs as a template: seeding a million rows takes minutes,
    copying the template seconds. A template of an older schema or generator is dropped."""
    import psycopg

    name = f"{TEMPLATE_PREFIX}{count}_{_seed_key(count, password)}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as conn:
        # One test run seeds; another one waiting here then finds the template ready.
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
        try:
            existing = {
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    [f"{TEMPLATE_PREFIX}{count}_%"],
                )
            }
            if name in existing:
                return name
            for old in existing:
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            building = f"{name}_building"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{building}"')
            env = base_env(folder / "template-seed", DATABASE_URL=_server_url(building))
            run(["migrate", "-v", "0"], env)
            run(
                ["seed", "--count", str(count), "--audio", "0", "--password", password],
                env,
                timeout=1800,
            )
            with psycopg.connect(_server_url(building), autocommit=True) as seeded:
                seeded.execute("VACUUM ANALYZE")
            # Renamed only when complete: an interrupted seed leaves no usable-looking template.
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            return name
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])


@contextlib.contextmanager
def seeded_database(tag: str, folder: Path, *, count: int, password: str) -> Iterator[str]:
    """PostgreSQL only: the URL of a new database holding `count` seeded recordings and the demo
    users (password `password`), copied from a template kept between runs (_seeded_template).
    Drop the templates with: DROP DATABASE noisebank_test_tpl_… (psql -l lists them)."""
    template = _seeded_template(count, password, folder)
    with fresh_database(tag, folder) as url:
        name = url.rsplit("/", 1)[1]
        _admin(f'DROP DATABASE "{name}"')
        # FILE_COPY: copying files beats PostgreSQL 15's default of writing every page to WAL.
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        run(["migrate", "-v", "0"], base_env(folder / "template-seed", DATABASE_URL=url))
        yield url


@contextlib.contextmanager
def query(url: str) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    """Read a database a test process created, without Django: `rows = q("SELECT …")`."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            yield lambda sql: conn.execute(sql).fetchall()
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        yield lambda sql: pg.execute(sql).fetchall()


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    _log_file: IO[bytes] = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log_file.close()
        return self.popen.returncode


def start(name: str, cmd: list[str], env: dict[str, str], logs: Path) -> Process:
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    out = log.open("ab")
    popen = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, popen, log, out)


def start_noisebank(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    return start(name, [*NOISEBANK, *args], env, logs)


def wait_until(
    check: Callable[[], bool], what: str, procs: list[Process], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise AssertionError(f"{p.name} exited while waiting for {what}:\n{p.output()}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.output()[-3000:]}" for p in procs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def unprivileged_prefix() -> list[str]:
    """Run as `nobody` when the tests run as root: the test nginx needs no privilege."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def shared_tmpdir(prefix: str) -> Path:
    """A temporary folder an unprivileged nginx can read (mkdtemp makes it private)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def render_nginx_config(folder: Path, env: dict[str, str], **values: str) -> Path:
    """deploy/nginx.conf.template for a private nginx in `folder`, by `noisebank nginx-config`."""
    (folder / "temp").mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    run(
        ["nginx-config", "--output", str(conf)],
        env
        | {
            "NOISEBANK_NGINX_PID": str(folder / "nginx.pid"),
            "NOISEBANK_NGINX_ERROR_LOG": str(folder / "error.log"),
            "NOISEBANK_NGINX_ACCESS_LOG": str(folder / "access.log"),
            "NOISEBANK_NGINX_TEMP_DIR": str(folder / "temp"),
            **values,
        },
    )
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            shutil.chown(path, "nobody", "nogroup")
    return conf


def nginx_command(folder: Path, *args: str) -> list[str]:
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    conf, error_log = str(folder / "nginx.conf"), str(folder / "error.log")
    return [*unprivileged_prefix(), binary, "-p", str(folder), "-c", conf, "-e", error_log, *args]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """Cookies, CSRF and no automatic redirects: what a test needs of a browser."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect()
        )

    def open(
        self,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        timeout: float = 60,
    ) -> Any:
        """The response (also for 4xx/5xx: an HTTPError is a response too)."""
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=headers or {}, method=method
        )
        try:
            return self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as e:
            return e

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def forget_cookie(self, name: str) -> None:
        for c in list(self.cookies):
            if c.name == name:
                self.cookies.clear(c.domain, c.path, c.name)

    def log_in(self, username: str, password: str) -> None:
        self.open("/accounts/login/").read()
        form = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookie("csrftoken") or "",
            }
        ).encode()
        response = self.open("/accounts/login/", data=form)
        assert response.status == 302, f"login failed: {response.status} {response.read()[:500]!r}"


@dataclass
class WebBehindNginx:
    url: str
    app_url: str  # uvicorn itself, bypassing nginx
    folder: Path
    web: Process
    nginx: Process


@contextlib.contextmanager
def web_behind_nginx(folder: Path, env: dict[str, str]) -> Iterator[WebBehindNginx]:
    """`noisebank serve` behind nginx (deploy/nginx.conf.template), on free ports, until the
    block ends. `folder` must be readable by an unprivileged nginx (shared_tmpdir)."""
    app_port, nginx_port = free_port(), free_port()
    logs = folder / "logs"
    web = start_noisebank("web", ["serve", "--port", str(app_port)], env, logs)
    procs = [web]
    try:
        render_nginx_config(
            folder / "nginx",
            env,
            NOISEBANK_NGINX_LISTEN=f"127.0.0.1:{nginx_port}",
            NOISEBANK_UPSTREAM=f"127.0.0.1:{app_port}",
        )
        nginx = start("nginx", nginx_command(folder / "nginx", "-g", "daemon off;"), {}, logs)
        procs.append(nginx)
        url = f"http://127.0.0.1:{nginx_port}"

        def up() -> bool:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                return bool(response.status == 200)

        wait_until(up, "the app, through nginx", procs)
        yield WebBehindNginx(url, f"http://127.0.0.1:{app_port}", folder, web, nginx)
    finally:
        for p in reversed(procs):
            p.stop()


def peak_rss_mb(pid: int) -> float:
    """The highest resident memory the process has had (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0
