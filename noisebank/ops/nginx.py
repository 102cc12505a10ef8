"""deploy/nginx.conf.template, rendered.

One template serves every nginx: the compose stack renders it with the official nginx image's
envsubst step (only `NOISEBANK_*` variables, see deploy/docker-compose.yml); a bare-metal install
and the tests with `noisebank nginx-config`. Both replace `${NOISEBANK_NAME}` (and
`$NOISEBANK_NAME`) and leave nginx's own `$variables` alone: `render` gives byte for byte what
envsubst gives.
"""

import re
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings

TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf.template"

_VARIABLE = re.compile(r"\$(\{)?(NOISEBANK_[A-Z0-9_]+)(?(1)\})")

# name -> what it is; defaults for this install come from `defaults()`.
VARIABLES = {
    "NOISEBANK_NGINX_LISTEN": "nginx's listen address: a port or host:port",
    "NOISEBANK_UPSTREAM": "host:port of `noisebank serve`",
    "NOISEBANK_MEDIA_ROOT": "the audio folder (the app's MEDIA_ROOT)",
    "NOISEBANK_EXPORT_ROOT": "the finished-exports folder (the app's EXPORT_ROOT)",
    "NOISEBANK_MAX_UPLOAD_MB": "upload limit in MB (the app's own limit)",
    "NOISEBANK_NGINX_PID": "nginx's pid file",
    "NOISEBANK_NGINX_ERROR_LOG": "nginx's error log (a file, or /dev/stderr)",
    "NOISEBANK_NGINX_ACCESS_LOG": "nginx's access log, JSON lines (a file, or /dev/stdout)",
    "NOISEBANK_NGINX_TEMP_DIR": "folder for nginx's temporary files (must be writable by it)",
}


class NginxConfigError(ValueError):
    pass


def template_variables(text: str) -> set[str]:
    return {m.group(2) for m in _VARIABLE.finditer(text)}


def render(text: str, values: Mapping[str, str]) -> str:
    unknown = template_variables(text) - set(values)
    if unknown:
        raise NginxConfigError(f"no value for {', '.join(sorted(unknown))}")
    for name, value in values.items():
        if any(c in str(value) for c in '\n;{}"'):
            raise NginxConfigError(f"{name}={value!r} would break the nginx configuration")
    return _VARIABLE.sub(lambda m: str(values[m.group(2)]), text)


def defaults() -> dict[str, str]:
    """A Debian nginx on this machine in front of `noisebank serve` on its default port."""
    return {
        "NOISEBANK_NGINX_LISTEN": "80",
        "NOISEBANK_UPSTREAM": "127.0.0.1:8000",
        "NOISEBANK_MEDIA_ROOT": str(Path(settings.MEDIA_ROOT).resolve()),
        "NOISEBANK_EXPORT_ROOT": str(Path(settings.EXPORT_ROOT).resolve()),
        "NOISEBANK_MAX_UPLOAD_MB": str(settings.NOISEBANK_MAX_UPLOAD_MB),
        "NOISEBANK_NGINX_PID": "/run/nginx.pid",
        "NOISEBANK_NGINX_ERROR_LOG": "/var/log/nginx/error.log",
        "NOISEBANK_NGINX_ACCESS_LOG": "/var/log/nginx/access.log",
        "NOISEBANK_NGINX_TEMP_DIR": "/var/lib/nginx",
    }


def render_for_this_install(environ: Mapping[str, str]) -> str:
    values = defaults() | {k: environ[k] for k in VARIABLES if environ.get(k)}
    if not values["NOISEBANK_MAX_UPLOAD_MB"].isdigit():
        raise NginxConfigError("NOISEBANK_MAX_UPLOAD_MB must be a whole number of megabytes")
    return render(TEMPLATE.read_text(encoding="utf-8"), values)
