from django.http import HttpRequest
from ninja import NinjaAPI, Schema

from noisebank import __version__
from noisebank.accounts.roles import role_of
from noisebank.api.auth import SessionOrToken
from noisebank.api.recordings import router as recordings_router

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


api.add_router("/", recordings_router)
