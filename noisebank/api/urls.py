from django.http import HttpRequest
from ninja import NinjaAPI, Schema

from noisebank import __version__
from noisebank.accounts.roles import role_of
from noisebank.api.auth import API_AUTH
from noisebank.api.errors import COMMON, install_handlers
from noisebank.api.recordings import router as recordings_router
from noisebank.api.schema import ContractAPI
from noisebank.api.stats import router as stats_router
from noisebank.exports.api import router as exports_router
from noisebank.ingest.api import register as register_ingest

api: NinjaAPI = ContractAPI(
    title="Noisebank API",
    version=__version__,
    description=(
        "Recordings, their measurements and exports. Authenticate with a bearer token "
        "(`noisebank token create USER`, then `Authorization: Bearer nb_…`) or, in the "
        "browser, the session cookie. Every error answers "
        '`{"detail": "…", "errors": [{"param": "…", "message": "…"}]}`.'
    ),
    urls_namespace="api",
    auth=API_AUTH,
    docs_url="/docs",
)
install_handlers(api)


class Me(Schema):
    username: str
    role: str


@api.get(
    "/me",
    response={200: Me, **COMMON},
    operation_id="me",
    tags=["account"],
    summary="Who the request is authenticated as",
)
def me(request: HttpRequest) -> Me:
    return Me(username=request.user.get_username(), role=role_of(request.user).group_name)


# POST /recordings, GET /recordings/{noise_id} and /uploads/* (noisebank/ingest/api.py) share
# the router of GET /recordings and the exports: ninja serves a path from one router only.
register_ingest(recordings_router)
api.add_router("/", recordings_router)
api.add_router("/", exports_router)
api.add_router("/", stats_router)
