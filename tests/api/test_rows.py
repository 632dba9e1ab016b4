"""A list page's rows are written field for field as DRF's own serializers write them, only
faster (portfolio.rows): each list of the API, compared row by row."""

import json

import pytest
from rest_framework.renderers import JSONRenderer

from config.api_urls import router
from tests.evaluations.factories import (
    PayoutTermsFactory,
    RecommendationFactory,
    StandardIndicatorFactory,
)

pytestmark = pytest.mark.django_db

LISTS = {prefix: viewset for prefix, viewset, _ in router.registry}


@pytest.mark.parametrize("prefix", list(LISTS))
def test_list_rows_are_what_drf_writes_for_them(api, world, prefix):
    PayoutTermsFactory()  # a results-based tranche beside the loan and the grants
    RecommendationFactory(evaluation=world.evaluation)
    StandardIndicatorFactory(portfolio=world.project.portfolio)
    viewset = LISTS[prefix]

    body = api("manager").get(f"/api/v1/{prefix}/", {"page_size": 500}).json()

    ids = [row["id"] for row in body["results"]]
    assert ids, "the world has rows of every kind"
    found = viewset.queryset.in_bulk(ids)
    written = viewset.serializer_class([found[i] for i in ids], many=True, context={})
    assert body["results"] == json.loads(JSONRenderer().render(written.data))
