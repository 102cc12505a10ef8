"""GET /api/v1/stats?<filters>: statistics of the recordings the filters select
(catalog.stats.selection_stats, cached per filter and data version as the list's count is),
the same filters as the list and the exports."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from noisebank.accounts.roles import can_browse, review_access
from noisebank.api.errors import COMMON, error_response, param_errors
from noisebank.api.responses import SelectionStats
from noisebank.api.schema import filter_parameters
from noisebank.catalog.counts import cached_stats
from noisebank.catalog.filters import FilterError, parse_filters

router = Router(tags=["recordings"])


@router.get(
    "/stats",
    response={200: SelectionStats, **COMMON},
    operation_id="selection_stats",
    by_alias=True,  # the breakdown's "class" (class_ in Python)
    summary="Statistics of the recordings matching the filters: counts by category, class, "
    "region, status and unit, LAeq histograms, level and duration percentiles, audio files",
    openapi_extra={"parameters": filter_parameters()},
)
def stats(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        return error_response(403, "Browsing needs the collector role or more.")
    try:
        filters = parse_filters(request.GET, access=review_access(request.user))
    except FilterError as e:
        return param_errors(e.errors)
    return JsonResponse(cached_stats(filters))
