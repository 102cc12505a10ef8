"""Settings of the test stack: the product's, plus test-only views (stack_urls). Never deployed."""

from noisebank.settings import *  # noqa: F403

ROOT_URLCONF = "noisebank.ops.tests.stack_urls"
