from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from noisebank.catalog.filters import FilterError, parse_filters
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import BadCursor, keyset_page

PAGE_SIZES = (50, 100, 200)
LIST_PARAMS = {"after", "size"}


def recording_list(request: HttpRequest) -> HttpResponse:
    errors = []
    try:
        filters = parse_filters(request.GET, extra=LIST_PARAMS)
    except FilterError as e:
        errors += e.messages
    size = PAGE_SIZES[0]
    raw_size = request.GET.get("size")
    if raw_size is not None:
        if raw_size.isdigit() and int(raw_size) in PAGE_SIZES:
            size = int(raw_size)
        else:
            errors.append(f"size must be one of {', '.join(map(str, PAGE_SIZES))}.")
    cursor = request.GET.get("after") or None
    if errors:
        return render(
            request, "catalog/recording_list.html", {"errors": errors, "page": None}, status=400
        )
    selection = Recording.objects.matching(filters)
    try:
        page = keyset_page(
            selection.for_list(),
            field="recorded_at",
            descending=True,
            cursor=cursor,
            size=size,
        )
    except BadCursor as e:
        return render(
            request, "catalog/recording_list.html", {"errors": [str(e)], "page": None}, status=400
        )
    filter_query = urlencode(filters.query_items())
    context = {
        "page": page,
        "total": selection.count(),
        "size": size,
        "page_sizes": PAGE_SIZES,
        "is_first_page": cursor is None,
        "filter_query": filter_query + "&" if filter_query else "",
        "is_filtered": bool(filter_query),
    }
    return render(request, "catalog/recording_list.html", context)
