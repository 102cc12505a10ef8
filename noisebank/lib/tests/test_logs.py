import json
import logging

import pytest

from noisebank.lib.logs import JsonFormatter, RequestIdFilter, logging_config, request_id_var


def record(msg: str = "export finished", **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("noisebank.exports")
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, msg, (), None, extra=extra)


def test_json_lines_carry_the_extra_fields_of_the_log_call() -> None:
    line = JsonFormatter().format(
        record(rows=1_000_000, bytes=835_000_000, seconds=6.4, format="csv")
    )
    entry = json.loads(line)
    assert entry["message"] == "export finished" and entry["level"] == "INFO"
    assert entry["logger"] == "noisebank.exports" and entry["time"].endswith("Z")
    assert (entry["rows"], entry["bytes"], entry["seconds"], entry["format"]) == (
        1_000_000,
        835_000_000,
        6.4,
        "csv",
    )


def test_json_lines_carry_the_request_id_while_a_request_is_handled() -> None:
    token = request_id_var.set("req-7")
    try:
        rec = record()
        RequestIdFilter().filter(rec)
    finally:
        request_id_var.reset(token)
    assert json.loads(JsonFormatter().format(rec))["request_id"] == "req-7"

    token = request_id_var.set(None)  # outside any request
    try:
        outside = record()
        RequestIdFilter().filter(outside)
    finally:
        request_id_var.reset(token)
    assert "request_id" not in json.loads(JsonFormatter().format(outside))


def test_values_json_cannot_hold_are_written_as_text_and_tracebacks_kept() -> None:
    try:
        raise ValueError("bad row")
    except ValueError:
        import sys

        rec = record(path=__import__("pathlib").Path("/x/y"))
        rec.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(rec))
    assert entry["path"] == "/x/y"
    assert "ValueError: bad row" in entry["exception"]


def test_plain_lines_show_the_request_id_too() -> None:
    plain = logging.Formatter(logging_config("plain")["formatters"]["plain"]["format"])
    token = request_id_var.set("abc123")
    try:
        rec = record("hello")
        RequestIdFilter().filter(rec)
    finally:
        request_id_var.reset(token)
    assert plain.format(rec).endswith("INFO noisebank.exports [abc123] hello")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="NOISEBANK_LOG_FORMAT='xml': use one of plain, json"):
        logging_config("xml")
