#!/usr/bin/env python3
"""Noisebank's front door; needs nothing but Python 3.11+.

    python3 run.py demo        the app with demo data on SQLite, web server and worker
    python3 run.py test        the whole test suite (lint, types, SQLite, PostgreSQL, browser)
    python3 run.py ARGS …      any other `noisebank` command, e.g. `python3 run.py seed --count 10`

On first use it creates .venv and installs the locked dependencies (requirements.lock); it does so
again whenever the lock file or pyproject.toml changes.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".noisebank-installed"


def say(msg: str) -> None:
    print(f"run.py: {msg}", flush=True)


def lock_fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (run.py may be started by an older python3)
        sys.exit(f"run.py: Noisebank needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    wanted = lock_fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted and (BIN / "noisebank").exists():
        return
    if not (BIN / "python").exists():
        say("creating .venv …")
        result = subprocess.run([sys.executable, "-m", "venv", str(VENV)])
        if result.returncode != 0:
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(
                "run.py: could not create a virtual environment. On Debian/Ubuntu install "
                "python3-venv (apt-get install python3-venv) and try again."
            )
    say("installing the locked dependencies into .venv (a minute or two the first time) …")
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    subprocess.run([*pip, "-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def run_tests(pytest_args: list[str]) -> int:
    py = str(BIN / "python")
    steps: list[tuple[str, list[str]]] = [
        ("ruff lint", [str(BIN / "ruff"), "check", "."]),
        ("ruff format", [str(BIN / "ruff"), "format", "--check", "."]),
        ("mypy", [str(BIN / "mypy"), "noisebank", "bench"]),
        ("migrations", [py, "manage.py", "makemigrations", "--check", "--dry-run", "-v", "0"]),
    ]
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base_env["NOISEBANK_DATA_DIR"] = str(ROOT / "var" / "test")
    failed = []
    for name, cmd in steps:
        say(f"== {name}")
        if run(cmd, base_env) != 0:
            failed.append(name)

    pytest = [py, "-m", "pytest", *pytest_args]
    say("== tests on SQLite")
    if run(pytest, base_env) != 0:
        failed.append("tests on SQLite")
    pg_url = os.environ.get("TEST_DATABASE_URL", "")
    if pg_url:
        say("== tests on PostgreSQL")
        if run(pytest, {**base_env, "DATABASE_URL": pg_url}) != 0:
            failed.append("tests on PostgreSQL")
    else:
        say(
            "PostgreSQL run SKIPPED: set TEST_DATABASE_URL to run the suite on PostgreSQL too, "
            "e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/noisebank "
            "python3 run.py test   (.ci/run always does)."
        )
    if failed:
        say(f"FAILED: {', '.join(failed)}")
        return 1
    say("all checks passed" + ("" if pg_url else " (PostgreSQL skipped)"))
    return 0


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    ensure_venv()
    if args[0] == "test":
        return run_tests(args[1:])
    os.execv(str(BIN / "noisebank"), [str(BIN / "noisebank"), *args])  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
