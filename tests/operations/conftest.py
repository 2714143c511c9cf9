"""Helpers of the operations tests: scraping /metrics and reading one sample."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families




class Scrape:
    """One parsed scrape: `value(name, **labels)` is a sample's value (0 when absent)."""

    def __init__(self, text: str):
        self.text = text
        self.samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]

    def value(self, name: str, **labels) -> float:
        found = [s.value for s in self.samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
        return sum(found)

    def labels_of(self, name: str) -> list[dict]:
        return [s.labels for s in self.samples if s.name == name]


def scrape_as(client) -> Scrape:
    """GET /metrics with `client` (an ApiClient allowed to read them) and parse it."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    return Scrape(response.get_data(as_text=True))


@pytest.fixture
def scrape(admin):
    """Scrape /metrics as the admin and parse it."""
    return lambda: scrape_as(admin)

