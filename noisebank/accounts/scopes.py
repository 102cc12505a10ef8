"""What a bearer token's scopes allow: each request needs one scope, by path and method.

    read    look: the catalogue, recordings, columns, me, the export jobs' list and progress
    upload  send recordings: POST /api/v1/recordings, chunked uploads
    export  take data out: downloads, export jobs (start, cancel, files), the original's batch API

A session (the browser) is not limited by scopes; its user's role still is.
"""

from django.http import HttpRequest

_EXPORT_PATHS = (
    "/api/v1/recordings/export.",
    "/api/v1/recordings/dataset.zip",
    "/api/export-data/",
)


def scope_needed(request: HttpRequest) -> str:
    path, method = request.path, request.method or "GET"
    if path.startswith(_EXPORT_PATHS):
        return "export"
    if path.startswith("/api/v1/exports"):
        # Following a job is reading; starting, cancelling or fetching its file is exporting.
        reading = method == "GET" and not path.endswith("/download")
        return "read" if reading else "export"
    if path.startswith("/api/v1/uploads") or (path == "/api/v1/recordings" and method == "POST"):
        return "upload"
    return "read"
