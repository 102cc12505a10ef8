"""API of the ingest app: upload a recording, read it back, and resumable chunked uploads.

    POST   /api/v1/recordings                    multipart: file + metadata fields -> 201
    GET    /api/v1/recordings/{noise_id}         status, metadata, features and levels
    POST   /api/v1/uploads                       start a chunked upload
    GET    /api/v1/uploads/{id}                  its offset (resume from there)
    PUT    /api/v1/uploads/{id}                  one chunk, Content-Range: bytes a-b/size
    POST   /api/v1/uploads/{id}/finish           metadata -> 201 {noise_id, status}
    DELETE /api/v1/uploads/{id}                  abort
    POST   /api/v1/uploads/manifest              parse a CSV manifest (the bulk page's check)

``register(router)`` adds the operations to a router, so they can share one with other
/recordings operations: django-ninja serves a path from the first router that declares it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, cast
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import reverse
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from noisebank.accounts.roles import can_browse, can_upload, can_view_recording
from noisebank.api.errors import COMMON, ErrorOut, error_response
from noisebank.api.responses import ChunkAccepted, ManifestRows, RecordingDetail
from noisebank.catalog.filters import ParamError
from noisebank.catalog.models import Recording
from noisebank.ingest import chunks
from noisebank.ingest.manifest import ManifestInvalid, read_manifest
from noisebank.ingest.models import ChunkedUpload
from noisebank.ingest.services import Created, UploadRejected, recording_create
from noisebank.ingest.uploads import too_large_reason

STATUS_OF_KIND = {
    "metadata": 400,
    "audio": 422,
    "duplicate": 409,
    "too_large": 413,
    "forbidden": 403,
    "no_space": 507,
}
IGNORED_FIELDS = {"file", "csrfmiddlewaretoken"}


class CreatedOut(Schema):
    noise_id: str
    status: str
    url: str
    notes: list[str] = []


class UploadStart(Schema):
    filename: str = Field(min_length=1, max_length=255)
    # At least 1 (an empty file is refused with 422); the most is the server's upload limit,
    # a setting (413 above it).
    size: int = Field(description="The file's size in bytes.", json_schema_extra={"minimum": 1})


class UploadOut(Schema):
    upload_id: UUID
    filename: str
    size: int
    offset: int
    chunk_size: int


def problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    errors = extra.pop("errors", None) or []
    # An upload's metadata errors are {field: [messages]}: one {param, message} each.
    if isinstance(errors, dict):
        errors = [ParamError(k, m) for k, ms in errors.items() for m in ms]
    return error_response(status, detail, errors, **extra)


def rejected(e: UploadRejected) -> JsonResponse:
    extra: dict[str, Any] = {"kind": e.kind}
    if e.errors:
        extra["errors"] = e.errors
    if e.existing_noise_id:
        extra["existing_noise_id"] = e.existing_noise_id
    return problem(STATUS_OF_KIND.get(e.kind, 400), e.reason, **extra)


def created_response(created: Created) -> JsonResponse:
    rec = created.recording
    return JsonResponse(
        {
            "noise_id": rec.noise_id,
            "status": rec.status,
            "url": reverse("recording-detail", args=[rec.noise_id]),
            "notes": created.notes,
        },
        status=201,
    )


def metadata_of(data: QueryDict | dict[str, Any]) -> dict[str, Any]:
    return {k: data.get(k) for k in data if k not in IGNORED_FIELDS}


def create_recording(request: HttpRequest, file: UploadedFile | None = File(None)) -> HttpResponse:  # noqa: B008
    if not can_upload(request.user):
        return problem(403, "Uploading needs the collector role.")
    oversized = getattr(request, "oversized_uploads", None)
    if oversized:
        return problem(413, too_large_reason(), kind="too_large")
    if file is None:
        return problem(400, "Send the audio as the multipart field `file`.", kind="metadata")
    try:
        created = recording_create(
            file=Path(file.temporary_file_path()),  # type: ignore[attr-defined]
            filename=file.name or "",
            metadata=metadata_of(request.POST),
            collector=request.user,  # type: ignore[arg-type]
            move=True,
        )
    except UploadRejected as e:
        return rejected(e)
    return created_response(created)


def recording_out(rec: Recording) -> dict[str, Any]:
    def name(obj: Any) -> str | None:
        return obj.name if obj is not None else None

    features = levels = None
    if hasattr(rec, "features"):
        f = rec.features
        features = {k: getattr(f, k) for k in FEATURE_FIELDS}
    if hasattr(rec, "analysis"):
        a = rec.analysis
        levels = {k: getattr(a, k) for k in LEVEL_FIELDS}
    in_force = rec.calibration_in_force()
    made = in_force.calibration
    return {
        "noise_id": rec.noise_id,
        "name": rec.name,
        "status": rec.status,
        "error": rec.error,
        "review_state": rec.review_state,
        "review_note": rec.review_note,
        "url": reverse("recording-detail", args=[rec.noise_id]),
        "description": rec.description,
        "collector": rec.collector.get_username() if rec.collector else None,
        "dataset_type": name(rec.dataset_type),
        "category": name(rec.category),
        "sound_class": name(rec.sound_class),
        "subclass": name(rec.subclass),
        "region": name(rec.region),
        "community": name(rec.community),
        "time_of_day": name(rec.time_of_day),
        "device": name(rec.device),
        "microphone_type": name(rec.microphone_type),
        "latitude": rec.latitude,
        "longitude": rec.longitude,
        "recorded_at": rec.recorded_at,
        "created_at": rec.created_at,
        "calibration_offset_db": rec.calibration_offset_db,
        "calibration": {
            "offset_db": in_force.offset_db,
            "source": in_force.source or None,
            "calibrated_at": made.valid_from if made else None,
            "calibrator_db": made.nominal_db if made else None,
        },
        "original_filename": rec.original_filename,
        "size_bytes": rec.size_bytes,
        "sha256": rec.sha256,
        "has_audio": bool(rec.audio),
        "features": features,
        "levels": levels,
    }


FEATURE_FIELDS = [
    "duration_s", "sample_rate", "num_samples", "channels", "rms_energy", "zero_crossing_rate",
    "spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness",
    "harmonic_ratio", "percussive_ratio", "mfcc", "chroma",
]  # fmt: skip
LEVEL_FIELDS = [
    "unit", "lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "mean_db", "max_db",
    "min_db", "std_db", "dominant_frequency_hz", "freq_low_hz", "freq_high_hz", "peak_count",
    "peak_interval_mean_s", "event_count", "event_durations_s", "band_levels",
]  # fmt: skip
DETAIL_RELATIONS = [
    "collector", "dataset_type", "category", "sound_class", "subclass", "region", "community",
    "time_of_day", "device", "microphone_type", "features", "analysis",
]  # fmt: skip


def get_recording(request: HttpRequest, noise_id: str) -> Any:
    if not can_browse(request.user):
        return problem(403, "Reading the catalogue needs the collector role or higher.")
    rec = (
        Recording.objects.select_related(*DETAIL_RELATIONS)
        .defer("analysis__level_series")
        .filter(noise_id=noise_id)
        .first()
    )
    if rec is None or not can_view_recording(request.user, rec):
        return problem(404, f"No recording {noise_id}.")
    return recording_out(rec)


# --- chunked uploads ---------------------------------------------------------------------------


def _upload_out(upload: ChunkedUpload) -> dict[str, Any]:
    return {
        "upload_id": upload.id,
        "filename": upload.filename,
        "size": upload.size,
        "offset": upload.offset,
        "chunk_size": chunks.CHUNK_SIZE,
    }


def _own_upload(request: HttpRequest, upload_id: UUID) -> ChunkedUpload | None:
    return ChunkedUpload.objects.filter(pk=upload_id, owner_id=request.user.pk).first()


def _gone(upload_id: UUID) -> JsonResponse:
    return problem(404, f"No upload {upload_id}: it was finished, aborted or has expired.")


def start_upload(request: HttpRequest, payload: UploadStart) -> Any:
    if not can_upload(request.user):
        return problem(403, "Uploading needs the collector role.")
    try:
        upload = chunks.upload_start(
            owner=request.user,  # type: ignore[arg-type]
            filename=payload.filename,
            size=payload.size,
        )
    except UploadRejected as e:
        return rejected(e)
    return Status(201, _upload_out(upload))


def upload_status(request: HttpRequest, upload_id: UUID) -> Any:
    upload = _own_upload(request, upload_id)
    if upload is None:
        return _gone(upload_id)
    return _upload_out(upload)


def put_chunk(request: HttpRequest, upload_id: UUID) -> Any:
    upload = _own_upload(request, upload_id)
    if upload is None:
        return _gone(upload_id)
    try:
        first, last = chunks.parse_content_range(request.headers.get("Content-Range"), upload)
        offset = chunks.upload_append(
            upload=upload, first=first, last=last, body=cast(IO[bytes], request)
        )
    except chunks.ChunkError as e:
        return problem(e.status, e.reason, offset=e.offset if e.offset >= 0 else upload.offset)
    return {"offset": offset, "size": upload.size, "complete": offset == upload.size}


def finish_upload(request: HttpRequest, upload_id: UUID) -> Any:
    upload = _own_upload(request, upload_id)
    if upload is None:
        return _gone(upload_id)
    if (request.content_type or "").endswith("json"):
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return problem(400, "The body is not valid JSON.")
        if not isinstance(data, dict):
            return problem(400, "Send the metadata as a JSON object.")
        metadata = data.get("metadata", data)
        if not isinstance(metadata, dict):
            return problem(400, "`metadata` must be a JSON object.")
    else:
        metadata = metadata_of(request.POST)
    try:
        created = chunks.upload_finish(
            upload=upload,
            metadata=metadata,
            collector=request.user,  # type: ignore[arg-type]
        )
    except chunks.ChunkError as e:
        return problem(e.status, e.reason, offset=e.offset)
    except UploadRejected as e:
        return rejected(e)
    return created_response(created)


def abort_upload(request: HttpRequest, upload_id: UUID) -> Any:
    upload = _own_upload(request, upload_id)
    if upload is None:
        return _gone(upload_id)
    chunks.upload_abort(upload)
    return Status(204, None)


def check_manifest(request: HttpRequest, manifest: UploadedFile = File(...)) -> Any:  # noqa: B008
    if not can_upload(request.user):
        return problem(403, "Uploading needs the collector role.")
    try:
        rows = read_manifest(manifest.read(chunks.MAX_CHUNK))
    except ManifestInvalid as e:
        return problem(400, e.reason)
    return {"rows": [{"line": r.line, "file": r.file, "metadata": r.metadata} for r in rows]}


UPLOAD_LINKS = {
    op: {"operationId": op, "parameters": {"upload_id": "$response.body#/upload_id"}}
    for op in ("get_upload", "put_chunk", "finish_upload", "abort_upload")
}
RECORDING_LINKS = {
    "get_recording": {
        "operationId": "get_recording",
        "parameters": {"noise_id": "$response.body#/noise_id"},
    }
}


def register(router: Router) -> None:
    errors = {**COMMON, 404: ErrorOut}
    upload_errors = {**errors, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut, 507: ErrorOut}
    router.post(
        "/recordings",
        response={201: CreatedOut, **upload_errors},
        operation_id="create_recording",
        summary="Upload one recording (multipart: `file` + metadata fields)",
        description=(
            "Metadata fields: name, description, dataset_type, category, sound_class (or class), "
            "subclass, region, community, time_of_day, device, microphone_type (each an id or an "
            "exact name, case-insensitive), latitude, longitude, recorded_at (ISO 8601), "
            "calibration_offset_db. The audio is measured in the background: poll "
            "GET /recordings/{noise_id} until status is ready or failed. 409: the same file is "
            "in the catalogue already (existing_noise_id); 413: too large; 422: not audio we "
            "can read; 507: the server's disk is full (nothing was stored: send it again later)."
        ),
        tags=["recordings"],
        openapi_extra={"responses": {201: {"links": RECORDING_LINKS}}},
    )(create_recording)
    router.get(
        "/recordings/{slug:noise_id}",
        response={200: RecordingDetail, **errors},
        operation_id="get_recording",
        summary="One recording with its status, features and levels",
        tags=["recordings"],
    )(get_recording)
    router.post(
        "/uploads/manifest",
        response={200: ManifestRows, **errors},
        operation_id="check_manifest",
        summary="Check a CSV manifest; returns its rows",
        tags=["uploads"],
    )(check_manifest)
    router.post(
        "/uploads",
        response={201: UploadOut, **upload_errors},
        operation_id="start_upload",
        summary="Start a resumable chunked upload",
        tags=["uploads"],
        openapi_extra={"responses": {201: {"links": UPLOAD_LINKS}}},
    )(start_upload)
    router.get(
        "/uploads/{uuid:upload_id}",
        response={200: UploadOut, **errors},
        operation_id="get_upload",
        summary="A chunked upload's offset: where to resume",
        tags=["uploads"],
    )(upload_status)
    router.put(
        "/uploads/{uuid:upload_id}",
        response={
            200: ChunkAccepted,
            **errors,
            409: ErrorOut,
            413: ErrorOut,
            416: ErrorOut,
            507: ErrorOut,
        },
        operation_id="put_chunk",
        summary="Send one chunk (raw body, Content-Range: bytes FIRST-LAST/SIZE)",
        tags=["uploads"],
        openapi_extra={
            "parameters": [
                {
                    "name": "Content-Range",
                    "in": "header",
                    "required": True,
                    "description": "Where the chunk goes: bytes FIRST-LAST/SIZE (SIZE as started).",
                    "schema": {"type": "string", "pattern": r"^bytes \d{1,15}-\d{1,15}/\d{1,15}$"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
        },
    )(put_chunk)
    router.post(
        "/uploads/{uuid:upload_id}/finish",
        response={201: CreatedOut, **upload_errors},
        operation_id="finish_upload",
        summary="Finish a chunked upload with its metadata (JSON object or form fields)",
        tags=["uploads"],
        openapi_extra={"responses": {201: {"links": RECORDING_LINKS}}},
    )(finish_upload)
    router.delete(
        "/uploads/{uuid:upload_id}",
        response={204: None, **errors},
        operation_id="abort_upload",
        summary="Abort a chunked upload",
        tags=["uploads"],
    )(abort_upload)


router = Router()
register(router)
