"""deploy/: what can be checked of the compose stack without a Docker engine.

There is no Docker here, so the image is never built and the stack never started by these
tests. They check that the files agree with each other and with the app: the services, the
variables the nginx template needs, the paths nginx and the app share, the lock files.
"""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from noisebank.cli import MAX_REQUEST_HEAD_BYTES
from noisebank.ops.nginx import (
    TEMPLATE,
    VARIABLES,
    NginxConfigError,
    render,
    template_variables,
)

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ROOT = DEPLOY.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return data


def sample_values() -> dict[str, str]:
    return {name: f"/v/{name.lower()}" for name in VARIABLES} | {
        "NOISEBANK_MAX_UPLOAD_MB": "500",
        "NOISEBANK_NGINX_LISTEN": "80",
        "NOISEBANK_UPSTREAM": "web:8000",
    }


def test_the_template_uses_exactly_the_documented_variables() -> None:
    assert template_variables(TEMPLATE.read_text()) == set(VARIABLES)


def test_rendering_gives_what_envsubst_gives() -> None:
    envsubst = shutil.which("envsubst")
    if envsubst is None:
        pytest.skip("envsubst (gettext-base) is not installed")
    values = sample_values()
    text = TEMPLATE.read_text()
    shell_format = " ".join(f"${{{name}}}" for name in VARIABLES)
    by_envsubst = subprocess.run(
        [envsubst, shell_format], input=text, env=values, capture_output=True, text=True, check=True
    ).stdout
    assert render(text, values) == by_envsubst
    assert "$host" in by_envsubst and "$request_id" in by_envsubst  # nginx's own, untouched


def test_rendering_refuses_missing_and_breaking_values() -> None:
    text = TEMPLATE.read_text()
    with pytest.raises(NginxConfigError, match="no value for NOISEBANK_UPSTREAM"):
        render(text, {k: v for k, v in sample_values().items() if k != "NOISEBANK_UPSTREAM"})
    with pytest.raises(NginxConfigError, match="would break"):
        render(text, sample_values() | {"NOISEBANK_MEDIA_ROOT": '/x"; include /etc/passwd; #'})


def test_nginx_keeps_its_default_timeouts() -> None:
    """The original raised every timeout to 300 s; streaming makes that unnecessary."""
    directives = [
        line.split("#", 1)[0] for line in TEMPLATE.read_text().splitlines() if line.strip()
    ]
    assert not [d for d in directives if re.search(r"\b\w*_timeout\b", d)]


def test_there_is_no_public_media_location() -> None:
    locations = re.findall(r"location\s+(\S+)\s*\{", TEMPLATE.read_text())
    assert locations == ["/", "/_protected/media/", "/_protected/exports/"]
    blocks = re.findall(r"location /_protected/\w+/ \{\n(.*?)\n\s*\}", TEMPLATE.read_text(), re.S)
    assert len(blocks) == 2
    for block in blocks:
        assert "internal;" in block and "gzip off;" in block


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "web", "worker", "nginx"}
    assert "noisebank serve" in " ".join(services["web"]["command"])
    assert services["worker"]["command"] == ["noisebank", "worker"]
    assert services["worker"]["deploy"]["replicas"] == "${NOISEBANK_WORKER_REPLICAS:-2}"
    assert services["migrate"]["command"][:2] == ["noisebank", "migrate"]
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_nginx_gets_every_template_variable(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    env = nginx["environment"]
    assert set(VARIABLES) <= set(env)
    # The image's envsubst step renders the template into nginx.conf, NOISEBANK_* names only.
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    assert env["NGINX_ENVSUBST_FILTER"] == "NOISEBANK_"
    assert "./nginx.conf.template:/etc/nginx/templates/nginx.conf.template:ro" in nginx["volumes"]


def test_nginx_and_the_app_agree_on_files_and_limits(compose: dict[str, Any]) -> None:
    services = compose["services"]
    nginx_env, nginx_volumes = services["nginx"]["environment"], services["nginx"]["volumes"]
    for app in ("web", "worker"):
        env, volumes = services[app]["environment"], services[app]["volumes"]
        assert env["NOISEBANK_MAX_UPLOAD_MB"] == nginx_env["NOISEBANK_MAX_UPLOAD_MB"]
        assert env["NOISEBANK_X_ACCEL_REDIRECT"] == "1"
        for root, volume in (
            ("NOISEBANK_MEDIA_ROOT", "media"),
            ("NOISEBANK_EXPORT_ROOT", "exports"),
        ):
            assert env[root] == nginx_env[root]
            assert f"{volume}:{env[root]}" in volumes
            assert f"{volume}:{env[root]}:ro" in nginx_volumes  # nginx only reads them
        # web and workers sum their counters in one place (prometheus multiprocess mode)
        assert f"metrics:{env['PROMETHEUS_MULTIPROC_DIR']}" in volumes
    assert services["web"]["environment"]["NOISEBANK_FORWARDED_ALLOW_IPS"] == "*"
    assert "ports" not in services["web"]  # only nginx is published


def test_nginx_passes_a_request_head_as_long_as_the_app_reads() -> None:
    template = (DEPLOY / "nginx.conf.template").read_text()
    (size,) = re.findall(r"large_client_header_buffers \d+ (\d+)k;", template)
    assert int(size) * 1024 == MAX_REQUEST_HEAD_BYTES


def test_env_example_names_every_required_variable(compose: dict[str, Any]) -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == {"POSTGRES_PASSWORD", "NOISEBANK_SECRET_KEY", "NOISEBANK_ALLOWED_HOSTS"}
    settable = set(re.findall(r"\$\{(\w+)(?::[-?][^}]*)?\}", text))
    example = set(re.findall(r"^(\w+)=", (DEPLOY / ".env.example").read_text(), re.M))
    assert required <= example
    assert example <= settable, f"not used by the compose file: {example - settable}"


def test_the_image_runs_unprivileged_from_the_lock_file() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2  # multi-stage
    assert "pip install --require-hashes -r /tmp/requirements.lock" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER noisebank$", dockerfile, re.M)
    assert 'CMD ["noisebank", "serve", "--host", "0.0.0.0"' in dockerfile
    assert "NOISEBANK_LOG_FORMAT=json" in dockerfile


def pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==([^\s\\]+)", lock.read_text(), re.M))


def test_the_image_lock_pins_what_requirements_lock_pins() -> None:
    """deploy/requirements.lock is requirements.lock without the test tools: same versions."""
    image, full = pins(DEPLOY / "requirements.lock"), pins(ROOT / "requirements.lock")
    assert image and {name: full.get(name) for name in image} == image
    for dev_only in ("pytest", "mypy", "ruff", "playwright", "moto"):
        assert dev_only not in image and dev_only in full
    pyproject = (ROOT / "pyproject.toml").read_text()
    runtime = pyproject.split("dependencies = [", 1)[1].split("]", 1)[0]
    for requirement in re.findall(r'"([A-Za-z0-9_.-]+)', runtime):
        assert requirement.lower().replace("_", "-") in image, requirement
