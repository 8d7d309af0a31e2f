"""Shared pytest set-up: fixtures live in tests/fixtures/, one module per component."""

pytest_plugins = [
    "tests.fixtures.project",
    "tests.fixtures.mongo",
    "tests.fixtures.s3",
    "tests.fixtures.age",
    "tests.fixtures.trained",
    "tests.fixtures.serve",
    "tests.fixtures.dask",
    "tests.fixtures.browser",
]
