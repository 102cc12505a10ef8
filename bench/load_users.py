"""The people of bench/load.py, as Locust users (run by bench/load.py; not on its own).

Researchers log in and browse: the catalogue with a filter or a sort, a recording's page, the
list API. Collectors upload 10-second WAV files (each different, so none is a duplicate) with a
token. The exporter downloads the whole accepted catalogue as CSV at a fixed pace and checks it
row for row: the rows parsed equal `X-Row-Count` and the catalogue's count before the run.

Settings come from the environment bench/load.py sets: LOAD_RESEARCHERS, LOAD_COLLECTORS,
LOAD_EXPORTS_PER_MINUTE, LOAD_PASSWORD, LOAD_TOKEN, LOAD_PLAN (a JSON file of noise ids,
categories and the expected export row count).
"""

import csv
import io
import json
import os
import random
import re
import wave
from urllib.parse import quote

from locust import FastHttpUser, between, constant_pacing, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115
PASSWORD = os.environ["LOAD_PASSWORD"]
SAMPLE_RATE = 16_000


def wav_bytes(seed: int, seconds: float = 10.0) -> bytes:
    """A 10-second mono WAV of seeded noise: a file no one uploaded before."""
    rng = random.Random(seed)
    frames = bytearray()
    for _ in range(int(seconds * SAMPLE_RATE)):
        frames += int(rng.gauss(0, 3000)).to_bytes(2, "little", signed=True)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


class Researcher(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_RESEARCHERS", "50"))
    wait_time = between(1, 4)

    def on_start(self) -> None:
        form = self.client.get("/accounts/login/", name="log-in")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text or "")
        self.client.post(
            "/accounts/login/",
            data={
                "username": "researcher",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            name="log-in",
        )

    @task(4)
    def catalogue(self) -> None:
        query = random.choice(
            [
                "",
                f"category={quote(random.choice(PLAN['categories']))}",
                f"laeq_min={random.randint(40, 90)}",
                "sort=-laeq",
                f"category={quote(random.choice(PLAN['categories']))}&sort=-laeq",
                f"q={random.choice(['train', 'horn', 'platform', 'night'])}",
            ]
        )
        self.client.get(f"/recordings/?{query}", name="page: catalogue")

    @task(3)
    def detail(self) -> None:
        noise_id = random.choice(PLAN["noise_ids"])
        self.client.get(f"/recordings/{noise_id}/", name="page: recording")

    @task(2)
    def list_api(self) -> None:
        category = quote(random.choice(PLAN["categories"]))
        self.client.get(f"/api/v1/recordings?size=100&category={category}", name="api: list")


class Collector(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_COLLECTORS", "10"))
    wait_time = between(10, 30)

    @task
    def upload(self) -> None:
        seed = random.getrandbits(48)
        body = wav_bytes(seed)
        boundary = f"----noisebank{seed:x}"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\n'
            f"{PLAN['upload_category']}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
            f"load {seed:x}\r\n".encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="load-{seed:x}.wav"\r\nContent-Type: audio/wav\r\n\r\n'.encode(),
            body,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        with self.client.post(
            "/api/v1/recordings",
            data=b"".join(parts),  # type: ignore[arg-type]  # bytes are sent as they are
            headers={
                "Authorization": f"Bearer {os.environ['LOAD_TOKEN']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            name="api: upload",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")


class Exporter(FastHttpUser):
    fixed_count = 1
    wait_time = constant_pacing(60 / float(os.environ.get("LOAD_EXPORTS_PER_MINUTE", "5")))

    @task
    def export(self) -> None:
        with self.client.get(
            "/api/v1/recordings/export.csv",
            headers={"Authorization": f"Bearer {os.environ['LOAD_EXPORT_TOKEN']}"},
            name="export: all rows, CSV",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return
            rows = sum(1 for _ in csv.reader(io.StringIO(response.text.lstrip("\ufeff")))) - 1
            header = int(response.headers.get("X-Row-Count", "-1"))
            if not rows == header == PLAN["export_rows"]:
                response.failure(
                    f"not row-exact: {rows} rows parsed, X-Row-Count {header}, "
                    f"expected {PLAN['export_rows']}"
                )
