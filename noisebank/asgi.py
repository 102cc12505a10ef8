import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "noisebank.settings")

django_application = get_asgi_application()

from noisebank.ingest.uploads import limit_body_size  # noqa: E402 (needs the settings)

application = limit_body_size(django_application)
