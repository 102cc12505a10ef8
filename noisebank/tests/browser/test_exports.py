"""Filtering the catalogue and exporting it from the export panel, in a real Chromium, against a
real server and worker: the downloaded file holds exactly the rows of the filtered list."""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import PHONE, RECORDINGS, needs_chromium, screenshot

pytestmark = needs_chromium

CATEGORY = "Wheel-rail noise"
JOB_DONE_MS = 120_000
# What the export panel reads from the address: the filters, without the page's own parameters.
PAGE_PARAMETERS = {"sort", "size", "after"}
# Every recording, each time through a filter no other test uses: an export of the same filters,
# columns and format would reuse a finished file at once, and these tests watch a job run.
# Excel with all columns: the slowest of the common exports, long enough to watch and to cancel.
EVERYTHING = [f"/recordings/?recorded_from=2000-01-0{day}" for day in (1, 2, 3)]


# --- the page -----------------------------------------------------------------------------------


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


def filter_through_the_form(page: Any, category: str, recorded_from: str, recorded_to: str) -> None:
    page.goto("/recordings/")
    form = page.locator("#filters")
    form.locator("[name=category]").select_option(label=category)
    form.locator("[name=recorded_from]").fill(recorded_from)
    form.locator("[name=recorded_to]").fill(recorded_to)
    with page.expect_navigation():
        page.click("#apply-filters")


def filters_on_screen(page: Any) -> str:
    query = parse_qsl(urlsplit(page.url).query)
    return urlencode([(k, v) for k, v in query if k not in PAGE_PARAMETERS and v])


def total_count(page: Any) -> int:
    return int(page.locator("#total-count").get_attribute("data-count"))


def ids_on_page(page: Any) -> list[str]:
    return page.locator("#recordings tbody tr[data-noise-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.noiseId)"
    )


def ids_across_pages(page: Any) -> list[str]:
    """Every noise_id of the list on screen, following its keyset pages to the end."""
    ids = ids_on_page(page)
    while page.locator("#next-page").count():
        with page.expect_navigation():
            page.click("#next-page")
        ids += ids_on_page(page)
    return ids


def rows_from_the_api(page: Any, filters: str, columns: str = "noise_id") -> list[dict[str, Any]]:
    """The same selection from the list API, as the logged-in user."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = page.request.get(
            f"/api/v1/recordings?{filters}&columns={columns}&size=1000&cursor={cursor}"
        )
        assert response.ok, response.text()
        data = response.json()
        rows += data["results"]
        if not data["next"]:
            assert len(rows) == data["count"]
            return rows
        cursor = data["next"]


def ids_from_the_api(page: Any, filters: str) -> list[str]:
    return [r["noise_id"] for r in rows_from_the_api(page, filters)]


# --- the export panel ---------------------------------------------------------------------------


def jobs(page: Any) -> list[dict[str, Any]]:
    response = page.request.get("/api/v1/exports")
    assert response.ok, response.text()
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


def job(page: Any, job_id: str) -> dict[str, Any]:
    response = page.request.get(f"/api/v1/exports/{job_id}")
    assert response.ok, response.text()
    return response.json()


def start_export(page: Any, fmt: str, preset: str = "all") -> str:
    """Export from the panel; the new job's id."""
    panel = page.locator("#export-panel")
    panel.locator("select[name=format]").select_option(fmt)
    panel.locator("select[name=columns_preset]").select_option(preset)
    assert panel.locator("#export-job").is_hidden()  # what follows is this job's progress
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#export-button")
    assert posted.value.ok, posted.value.text()
    return str(posted.value.json()["id"])


def status(page: Any) -> str:
    return page.locator("#export-status").get_attribute("data-status") or ""


def progress(page: Any) -> float:
    return float(page.eval_on_selector("#export-progress", "p => p.value"))


def wait_for_status(page: Any, *statuses: str, timeout: float = JOB_DONE_MS) -> str:
    selector = ", ".join(f"#export-status[data-status={s}]" for s in statuses)
    page.wait_for_selector(selector, state="attached", timeout=timeout)
    return status(page)


def wait_until_running_with_progress(page: Any) -> float:
    page.wait_for_function(
        "() => document.querySelector('#export-status').dataset.status === 'running'"
        " && document.querySelector('#export-progress').value > 0",
        timeout=60_000,
        polling=50,
    )
    return progress(page)


def record_progress(page: Any) -> None:
    """Sample the bar and the status every 50 ms into window.samples, as the user sees them."""
    page.evaluate(
        """() => { window.samples = []; setInterval(() => window.samples.push([
             document.querySelector('#export-progress').value,
             document.querySelector('#export-status').dataset.status]), 50); }"""
    )


def download(page: Any, folder: Path, job_id: str) -> Path:
    link = page.locator("#export-download")
    assert link.is_visible()
    assert job_id in link.get_attribute("href")
    with page.expect_download() as info:
        link.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


def noise_ids_in(path: Path) -> list[str]:
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
        header, body = rows[0], rows[1:]
    else:
        assert path.suffix == ".xlsx", path
        from python_calamine import CalamineWorkbook

        book = CalamineWorkbook.from_path(str(path))
        body = []
        for n, name in enumerate(book.sheet_names):
            sheet = book.get_sheet_by_name(name).to_python()
            header = [str(h) for h in sheet[0]]
            body += sheet[1:]
            assert n == 0 or sheet[0] == header
    column = [h.split(" (")[0] for h in header].index("noise_id")
    return [str(row[column]) for row in body]


# --- scenarios ----------------------------------------------------------------------------------


def test_filtering_by_category_and_date_through_the_form_lists_exactly_that_selection(
    open_page: OpenPage,
) -> None:
    page = open_page("researcher")
    filter_through_the_form(page, CATEGORY, days_ago(120), days_ago(30))
    query = dict(parse_qsl(urlsplit(page.url).query))
    assert (query["recorded_from"], query["recorded_to"]) == (days_ago(120), days_ago(30))
    rows = rows_from_the_api(page, filters_on_screen(page), "noise_id,category,recording_date")
    assert {r["category"] for r in rows} == {CATEGORY}
    assert days_ago(120) <= min(r["recording_date"] for r in rows)[:10]
    assert max(r["recording_date"] for r in rows)[:10] <= days_ago(30)
    expected = [r["noise_id"] for r in rows]
    assert 100 < len(expected) < RECORDINGS // 10  # a real selection, over several pages
    assert total_count(page) == len(expected)
    assert ids_across_pages(page) == expected
    screenshot(page, "catalogue-filtered")


def test_a_date_preset_fills_the_date_fields(open_page: OpenPage) -> None:
    page = open_page("researcher")
    page.goto("/recordings/")
    page.click("[data-preset=month]")
    form = page.locator("#filters")
    recorded_from = form.locator("[name=recorded_from]").input_value()
    today = datetime.now(UTC).date()
    assert recorded_from == today.replace(day=1).isoformat()
    with page.expect_navigation():
        page.click("#apply-filters")
    assert total_count(page) == len(ids_from_the_api(page, filters_on_screen(page)))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_of_the_filtered_list_holds_exactly_its_rows(
    open_page: OpenPage, tmp_path: Path, fmt: str
) -> None:
    page = open_page("researcher")
    filter_through_the_form(page, CATEGORY, days_ago(200), days_ago(100))
    expected = ids_from_the_api(page, filters_on_screen(page))
    assert total_count(page) == len(expected) > 0
    record_progress(page)
    job_id = start_export(page, fmt)
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    assert progress(page) == 100
    samples = page.evaluate("window.samples")
    values = [v for v, _ in samples]
    assert values == sorted(values), "the bar went backwards"
    file = download(page, tmp_path, job_id)
    assert file.suffix == f".{fmt}"
    got = noise_ids_in(file)
    # Each row once; the file is in the engine's order (by internal id), the list newest first.
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == set(expected)


def test_the_progress_bar_climbs_to_100_while_a_large_export_runs(
    open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page("researcher")
    page.goto(EVERYTHING[0])
    record_progress(page)
    job_id = start_export(page, "xlsx", "all")
    wait_until_running_with_progress(page)
    screenshot(page, "export-running")
    assert "/" in page.locator("#export-status").inner_text()  # rows done / total
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    assert progress(page) == 100
    samples = page.evaluate("window.samples")
    values = [v for v, _ in samples]
    assert values == sorted(values), "the bar went backwards"
    assert any(0 < v < 100 for v in values), "the bar jumped straight to 100"
    screenshot(page, "export-done")
    assert len(noise_ids_in(download(page, tmp_path, job_id))) == RECORDINGS


def test_a_cancelled_export_stops_and_offers_no_file(open_page: OpenPage) -> None:
    page = open_page("researcher", PHONE)
    page.goto(EVERYTHING[2])
    job_id = start_export(page, "xlsx", "all")
    wait_until_running_with_progress(page)
    screenshot(page, "export-running")
    page.click("#export-cancel")
    assert wait_for_status(page, "cancelled", "done", "failed", timeout=10_000) == "cancelled"
    assert not page.locator("#export-download").is_visible()
    stopped = job(page, job_id)
    assert stopped["status"] == "cancelled"
    assert stopped["rows_done"] < stopped["rows_total"] == RECORDINGS
    assert not stopped.get("download_url")
    assert page.request.get(f"/api/v1/exports/{job_id}/download").status == 409
    page.wait_for_timeout(1_500)  # the worker's next progress save, had it gone on
    assert job(page, job_id)["rows_done"] == stopped["rows_done"]


def test_after_a_reload_the_panel_shows_the_running_export_and_its_progress(
    open_page: OpenPage,
) -> None:
    page = open_page("researcher")
    page.goto(EVERYTHING[1])
    before = {j["id"] for j in jobs(page)}
    job_id = start_export(page, "xlsx", "all")
    seen = wait_until_running_with_progress(page)
    page.reload()
    page.wait_for_function(
        f"() => ['running', 'done'].includes(document.querySelector('#export-status')"
        f".dataset.status) && document.querySelector('#export-progress').value >= {seen}",
        timeout=10_000,
    )
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    assert progress(page) == 100
    assert job_id in page.locator("#export-download").get_attribute("href")
    assert [j["id"] for j in jobs(page) if j["id"] not in before] == [job_id]


def test_a_double_click_on_export_starts_one_job(open_page: OpenPage) -> None:
    page = open_page("researcher")
    page.goto(f"/recordings/?category=Background&recorded_from={days_ago(60)}")
    before = {j["id"] for j in jobs(page)}
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.locator("#export-panel select[name=format]").select_option("csv")
    page.dblclick("#export-button")
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    page.wait_for_timeout(1_000)  # a second request, had there been one, has arrived by now
    assert posts == [page.url.split("/recordings/")[0] + "/api/v1/exports"]
    assert len([j for j in jobs(page) if j["id"] not in before]) == 1


def test_the_panel_exports_an_ml_dataset_with_the_split_and_audio_chosen(
    open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page("researcher")
    page.goto(f"/recordings/?category=Background&recorded_from={days_ago(30)}")
    panel = page.locator("#export-panel")
    assert panel.locator("#export-dataset-options").is_hidden()
    panel.locator("select[name=format]").select_option("zip")
    panel.locator("input[name=dataset]").check()
    assert panel.locator("#export-dataset-options").is_visible()
    panel.locator("input[name=split_train]").fill("70")
    panel.locator("input[name=split_validation]").fill("20")
    panel.locator("input[name=split_test]").fill("10")
    panel.locator("select[name=stratify_by]").select_option("subclass")
    panel.locator("input[name=group_by][value=collector]").check()
    panel.locator("input[name=seed]").fill("42")
    panel.locator("select[name=sample_rate]").select_option("16000")
    panel.locator("input[name=mono]").check()
    panel.locator("input[name=segment_seconds]").fill("2.5")
    panel.locator("select[name=segment_remainder]").select_option("drop")
    screenshot(page, "export-panel-dataset")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#export-button")
    assert posted.value.ok, posted.value.text()
    job_id = str(posted.value.json()["id"])
    assert posted.value.json()["options"]["dataset"] == {
        "split": [0.7, 0.2, 0.1],
        "seed": 42,
        "stratify_by": "subclass",
        "group_by": ["community", "collector"],
        "sample_rate": 16_000,
        "mono": True,
        "segment_seconds": 2.5,
        "segment_remainder": "drop",
        "audio_format": "original",
    }
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    file = download(page, tmp_path, job_id)
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert {"train/metadata.csv", "datapackage.json", "manifest.json"} <= set(names)
    assert manifest["dataset"]["split"]["seed"] == 42
    assert manifest["dataset"]["audio"]["sample_rate"] == 16_000


def test_a_collector_sees_the_catalogue_but_no_export_panel(open_page: OpenPage) -> None:
    page = open_page("collector")
    page.goto("/recordings/")
    assert page.locator("#recordings tbody tr[data-noise-id]").count() == 50
    assert page.locator("#export-panel").count() == 0
    assert page.locator("#export-button").count() == 0


def test_on_a_phone_the_filters_open_from_a_button_and_apply(open_page: OpenPage) -> None:
    page = open_page("researcher", PHONE)
    page.goto("/recordings/")
    assert not page.locator("#filters").is_visible()
    page.click("#filters-toggle")
    assert page.locator("#filters").is_visible()
    screenshot(page, "catalogue-filters-open")
    page.locator("#filters [name=category]").select_option(label=CATEGORY)
    with page.expect_navigation():
        page.click("#apply-filters")
    expected = ids_from_the_api(page, filters_on_screen(page))
    assert total_count(page) == len(expected)
    assert ids_on_page(page) == expected[:50]


def test_the_history_lists_the_users_exports_with_their_downloads(
    open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page("researcher")
    page.goto(f"/recordings/?category=Background&recorded_from={days_ago(20)}")
    job_id = start_export(page, "xlsx", "metadata")
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    mine = jobs(page)
    assert mine[0]["id"] == job_id
    page.goto("/exports/")
    rows = page.locator("#export-history tbody tr[data-job-id]")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.jobId)") == [j["id"] for j in mine]
    newest = rows.first
    assert newest.get_attribute("data-status") == "done"
    with page.expect_download() as info:
        newest.get_by_role("link", name="Download").click()
    info.value.save_as(tmp_path / "again.xlsx")
    assert len(noise_ids_in(tmp_path / "again.xlsx")) == mine[0]["rows_total"] > 0
    screenshot(page, "history")
    page.set_viewport_size(PHONE)
    screenshot(page, "history")
    # An admin sees everyone's jobs.
    other = open_page("admin")
    other.goto("/exports/")
    assert other.locator(f"#export-history tr[data-job-id='{mine[0]['id']}']").count() == 1


def test_ticking_the_bom_protects_formulas_and_the_file_says_so(
    open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page("researcher")
    filter_through_the_form(page, CATEGORY, days_ago(400), days_ago(300))
    panel = page.locator("#export-panel")
    panel.locator("select[name=format]").select_option("csv")
    safe = panel.locator("input[name=excel_safe]")
    assert not safe.is_checked()
    panel.locator("input[name=bom]").check()
    assert safe.is_checked()  # a BOM is for Excel: the protection follows it
    assert "changes those values" in panel.locator("#export-csv-help").inner_text()
    job_id = start_export(page, "csv", preset="metadata")
    assert wait_for_status(page, "done", "failed", "cancelled") == "done"
    assert job(page, job_id)["manifest"]["options"] == {"bom": True, "excel_safe": True}
    data = download(page, tmp_path, job_id).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    names = [r[1] for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))][1:]
    assert names and not [n for n in names if n[:1] in ("=", "+", "-", "@", "\t", "\r")]
    stored = rows_from_the_api(page, filters_on_screen(page), "noise_id,name")
    assert sorted(names) == sorted(
        "'" + r["name"] if r["name"][:1] in ("=", "+", "-", "@", "\t", "\r") else r["name"]
        for r in stored
    )
