"""The API keeps its OpenAPI contract: Schemathesis over every operation, against a real server.

A real `noisebank serve` and `noisebank worker` on a seeded SQLite database; a researcher's
bearer token. Schemathesis generates requests from the served schema (deterministically, a
bounded number an operation) and runs all its checks on each answer: no 5xx, every status and
content type documented, bodies matching their schemas, valid requests accepted and invalid
ones refused (repository's schemathesis.toml says where a schema cannot tell), and the stateful
phase follows the schema's links (create an export → get it → cancel or download it; start an
upload → put a chunk → finish or abort it).

Runs on SQLite only: the same server code runs on PostgreSQL in the other tests, and this is
the slowest test module (about two minutes). The server is the package's `live_api`
(conftest.py), shared with the generated client's test.
"""

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

from noisebank.api.tests.conftest import LiveApi
from noisebank.ops.tests.servers import ROOT, on_postgres

pytestmark = pytest.mark.skipif(
    on_postgres(), reason="the contract test runs once, on SQLite (the suite's first run)"
)
EXAMPLES = 10
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi) -> Any:
    config = schemathesis.config.SchemathesisConfig.from_path(str(ROOT / "schemathesis.toml"))
    schema = schemathesis.openapi.from_url(
        f"{live_api.url}/api/v1/openapi.json", headers=live_api.headers, config=config
    )
    schema.hook(map_query)
    schema.hook(map_body)
    return schema


def ordered_box(box: Any) -> Any:
    """A generated bbox with west <= east and south <= north, which a schema cannot require
    (the server refuses other boxes, naming bbox). Each value is kept as generated, only
    moved, so a value out of range stays out of range and a negative case stays negative."""
    parts = box.split(",") if isinstance(box, str) else box
    if not isinstance(parts, list) or len(parts) != 4:
        return box
    try:
        west, south, east, north = (float(p) for p in parts)
    except (TypeError, ValueError):
        return box
    if west > east:
        parts[0], parts[2] = parts[2], parts[0]
    if south > north:
        parts[1], parts[3] = parts[3], parts[1]
    return ",".join(parts) if isinstance(box, str) else parts


def map_query(context: Any, query: Any) -> Any:
    if isinstance(query, dict) and "bbox" in query:
        query["bbox"] = ordered_box(query["bbox"])
    return query


def map_body(context: Any, body: Any) -> Any:
    filters = body.get("filters") if isinstance(body, dict) else None
    if isinstance(filters, dict) and "bbox" in filters:
        filters["bbox"] = ordered_box(filters["bbox"])
    return body


OPERATIONS = [
    "me", "list_recordings", "get_recording", "create_recording", "export_recordings_csv",
    "export_recordings_xlsx", "export_recordings_parquet", "export_recordings_jsonl",
    "export_recordings_geojson", "export_recordings_zip", "export_dataset", "list_columns",
    "check_manifest", "start_upload",
    "get_upload", "put_chunk", "finish_upload", "abort_upload", "create_export", "list_exports",
    "get_export", "cancel_export", "download_export", "selection_stats",
]  # fmt: skip


# (schemathesis' own @schema.parametrize with a fixture-loaded schema does not run under
# pytest 9: it sets a node attribute pytest no longer has. Each operation and mode is a test
# of its own here, with the same strategies and checks.)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_operation_keeps_the_contract(
    api_schema: Any, live_api: LiveApi, operation_id: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_id(operation_id)

    @HYPOTHESIS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers_for(case, live_api))

    check()


BEARER = re.compile(r"^Bearer [A-Za-z0-9._~+/-]+=*$")  # RFC 6750's b64token


def headers_for(case: Any, live_api: LiveApi) -> dict[str, str]:
    """The researcher's token, unless the case's own Authorization is the invalid part: that one
    must reach the server (Schemathesis judges the headers it generated, not those replaced)."""
    own = (case.headers or {}).get("Authorization")
    negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    if negative and own is not None and not BEARER.match(str(own)):
        return {k: v for k, v in live_api.headers.items() if k != "Authorization"}
    return live_api.headers


def test_linked_operations_keep_the_contract_in_sequence(
    api_schema: Any, live_api: LiveApi
) -> None:
    workflow = api_schema.as_state_machine()

    class Workflow(workflow):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": live_api.headers}

    Workflow.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )


def test_the_schema_names_every_operation_as_a_person_would(api_schema: Any) -> None:
    ids = [op.ok().definition.raw.get("operationId") for op in api_schema.get_all_operations()]
    assert sorted(ids) == sorted(OPERATIONS)  # every operation is tested above, by its name
