import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from noisebank.ops import metrics
from noisebank.ops.health import health


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    report, status = health()
    return JsonResponse(report, status=status)


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        return False
    return hmac.compare_digest(header[7:].strip().encode(), token.encode())


@login_not_required
@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape target. Off (404) unless NOISEBANK_METRICS_TOKEN is set; then 401
    without `Authorization: Bearer <that token>`."""
    token = settings.NOISEBANK_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set NOISEBANK_METRICS_TOKEN to turn them on.")
    if not _bearer_matches(request, token):
        refusal = HttpResponse(
            "Send Authorization: Bearer <NOISEBANK_METRICS_TOKEN>.\n",
            status=401,
            content_type="text/plain",
        )
        refusal["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refusal
    return HttpResponse(metrics.scrape(), content_type=metrics.CONTENT_TYPE)
