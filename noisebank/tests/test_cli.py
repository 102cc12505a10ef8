"""The `noisebank` command, run as a real process the way a newcomer runs it."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOISEBANK = [sys.executable, "-m", "noisebank.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOISEBANK_", "DATABASE"))}
    return env | {"NOISEBANK_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NOISEBANK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_port_in_use_is_a_one_line_error_naming_the_port(
    command: str, busy_port: int, sqlite_env: dict[str, str]
) -> None:
    result = run([command, "--port", str(busy_port)], sqlite_env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"Port {busy_port}" in lines[0] and "already in use" in lines[0]


def test_port_from_the_environment_is_checked(sqlite_env: dict[str, str]) -> None:
    result = run(["serve"], sqlite_env | {"NOISEBANK_PORT": "eighty"})
    assert (
        result.returncode != 0 and "NOISEBANK_PORT='eighty' is not a port number" in result.stderr
    )


def test_without_arguments_it_explains_itself(sqlite_env: dict[str, str]) -> None:
    result = run([], sqlite_env)
    assert result.returncode == 0
    for word in ("demo", "serve", "worker", "manage", "Django management command"):
        assert word in result.stdout


def test_django_management_commands_pass_through(sqlite_env: dict[str, str]) -> None:
    assert "System check identified no issues" in run(["check"], sqlite_env).stdout
    assert "System check identified no issues" in run(["manage", "check"], sqlite_env).stdout


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} never appeared; output so far:\n{''.join(seen)}")


def start_demo(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*NOISEBANK, "demo", "--port", str(port), "--count", "40"],
        cwd=ROOT,
        env=env | {"NOISEBANK_DEMO_PASSWORD": "pw-of-the-test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )


def ctrl_c(proc: subprocess.Popen[str]) -> str:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    out, _ = proc.communicate(timeout=30)
    return out


def test_demo_runs_server_and_worker_and_stops_both_on_ctrl_c(sqlite_env: dict[str, str]) -> None:
    port = free_port()
    proc = start_demo(sqlite_env, port)
    try:
        banner = read_until(proc, "Press Ctrl-C")
        assert f"http://127.0.0.1:{port}/recordings/" in banner
        for user in ("admin", "reviewer", "researcher", "collector"):
            assert user in banner
        assert "E-mails (sign-up codes" in banner and "printed here" in banner
        assert f"http://127.0.0.1:{port}/accounts/signup/ (NOISEBANK_SIGNUP=open)" in banner
        assert "pw-of-the-test" in banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        children = subprocess.run(
            ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) >= 3  # demo, web server, worker
    finally:
        out = ctrl_c(proc)
    assert proc.returncode == 0, out
    assert "Stopped." in out
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 1
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # the port is free again


def test_second_demo_reuses_the_database(sqlite_env: dict[str, str]) -> None:
    for attempt in range(2):
        port = free_port()
        proc = start_demo(sqlite_env, port)
        try:
            out = read_until(proc, "Press Ctrl-C")
        finally:
            ctrl_c(proc)
        if attempt == 0:
            assert "Seeded 40 recordings" in out
        else:
            # 40 seeded rows and the 8 demo recordings with synthesised audio.
            assert "already holds 48 recordings; not seeding" in out


def test_a_plain_kill_of_the_demo_stops_its_children_too(sqlite_env: dict[str, str]) -> None:
    proc = start_demo(sqlite_env, free_port())
    try:
        read_until(proc, "Press Ctrl-C")
    finally:
        proc.send_signal(signal.SIGTERM)  # to the demo process alone, as `kill PID` does
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Stopped." in out
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 1
