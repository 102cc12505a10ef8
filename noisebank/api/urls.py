from django.http import HttpRequest
from ninja import NinjaAPI, Schema

from noisebank import __version__
from noisebank.accounts.roles import role_of
from noisebank.api.auth import SessionOrToken
from noisebank.api.recordings import router as recordings_router
from noisebank.exports.api import router as exports_router
from noisebank.ingest.api import register as register_ingest

api = NinjaAPI(
    title="Noisebank API",
    version=__version__,
    urls_namespace="api",
    auth=SessionOrToken(),
    docs_url="/docs",
)


class Me(Schema):
    username: str
    role: str


@api.get("/me", response=Me, summary="Who the request is authenticated as")
def me(request: HttpRequest) -> Me:
    return Me(username=request.user.get_username(), role=role_of(request.user).group_name)


# POST /recordings, GET /recordings/{noise_id} and /uploads/* (noisebank/ingest/api.py) share
# the router of GET /recordings and the exports: ninja serves a path from one router only.
register_ingest(recordings_router)
api.add_router("/", recordings_router)
api.add_router("/", exports_router)
