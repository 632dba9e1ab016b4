"""A list page's rows are written field for field as DRF's own serializers write them, only
faster (portfolio.rows): each list of the API, compared row by row."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from config.api_urls import router
from evaluations.models import Evidence, MeasurementComment
from funding.models import LoanTerms, Tranche
from portfolio import renderers
from portfolio.rows import ReadQuickly, Rows, decimal_representation
from tests.evaluations.factories import (
    MeasurementFactory,
    PayoutTermsFactory,
    PersonFactory,
    RecommendationFactory,
    StandardIndicatorFactory,
)

pytestmark = pytest.mark.django_db

LISTS = {prefix: viewset for prefix, viewset, _ in router.registry}


@pytest.fixture
def drf_own_way(monkeypatch):
    """Serializers write one row DRF's own way, field by field (no `ReadQuickly`)."""

    def own(self, instance):
        return serializers.Serializer.to_representation(self, instance)

    monkeypatch.setattr(ReadQuickly, "to_representation", own)


def test_an_answer_is_the_bytes_drfs_json_renderer_writes(api, world):
    response = api("manager").get("/api/v1/tranches/", {"page_size": 500})

    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, renderers.JSONRenderer)
    assert response.content == JSONRenderer().render(response.data)


@pytest.mark.parametrize("prefix", list(LISTS))
def test_list_rows_are_what_drf_writes_for_them(api, world, prefix, request):
    PayoutTermsFactory()  # a results-based tranche beside the loan and the grants
    RecommendationFactory(evaluation=world.evaluation)
    StandardIndicatorFactory(portfolio=world.project.portfolio)
    viewset = LISTS[prefix]

    body = api("manager").get(f"/api/v1/{prefix}/", {"page_size": 500}).json()
    request.getfixturevalue("drf_own_way")

    ids = [row["id"] for row in body["results"]]
    assert ids, "the world has rows of every kind"
    found = viewset.queryset.in_bulk(ids)
    written = viewset.serializer_class([found[i] for i in ids], many=True, context={})
    assert body["results"] == json.loads(JSONRenderer().render(written.data))


@pytest.mark.parametrize("prefix", list(LISTS))
def test_one_row_is_written_as_drf_writes_it(api, world, prefix, request):
    PayoutTermsFactory()
    RecommendationFactory(evaluation=world.evaluation)
    StandardIndicatorFactory(portfolio=world.project.portfolio)
    client = api("manager")
    ids = [row["id"] for row in client.get(f"/api/v1/{prefix}/").json()["results"]]
    assert ids, "the world has rows of every kind"

    quick = [client.get(f"/api/v1/{prefix}/{pk}/").json() for pk in ids]
    request.getfixturevalue("drf_own_way")
    own = [client.get(f"/api/v1/{prefix}/{pk}/").json() for pk in ids]

    assert quick == own


def test_each_measurement_in_a_list_has_its_own_files_and_comments_in_time_order(api, world):
    """The page reads every row's files and comments within the rows' own query; each row
    still shows its own, in the order its own page shows them (by time, not as added)."""
    other = MeasurementFactory(
        indicator=world.indicator,
        reported_by=PersonFactory(),
        period_start=date(2024, 1, 1),
        period_end=date(2024, 3, 31),
    )
    author = PersonFactory()
    for measurement in (world.measurement, other):
        for hour in (3, 1, 2):
            at = datetime(2025, 1, 1, hour, tzinfo=UTC)
            MeasurementComment.objects.create(
                measurement=measurement, author=author, text=f"{hour} o'clock", created_at=at
            )
            Evidence.objects.create(
                measurement=measurement,
                file=f"evidence/{measurement.pk}-{hour}.pdf",
                name=f"{hour}.pdf",
                uploaded_by=author,
                uploaded_at=at,
            )
    viewset = LISTS["measurements"]

    body = api("manager").get("/api/v1/measurements/", {"page_size": 500}).json()

    rows = {row["id"]: row for row in body["results"]}
    for measurement in (world.measurement, other):
        alone = viewset.serializer_class(
            [viewset.queryset.get(pk=measurement.pk)], many=True, context={}
        ).data[0]
        assert [c["text"] for c in rows[measurement.pk]["comments"]] == [
            "1 o'clock",
            "2 o'clock",
            "3 o'clock",
        ]
        assert rows[measurement.pk]["evidence"] == json.loads(
            JSONRenderer().render(alone["evidence"])
        )
        assert rows[measurement.pk]["comments"] == json.loads(
            JSONRenderer().render(alone["comments"])
        )


class TermsInWords(serializers.ModelSerializer):
    """Loan terms with a field only DRF's own way writes, which asks its serializer and the
    request's context (through the serializers it is nested in)."""

    words = serializers.SerializerMethodField()

    class Meta:
        model = LoanTerms
        fields = ["tenor_months", "words"]

    def get_words(self, terms) -> str:
        return f"{self.field_name}: {terms.tenor_months} {self.context['unit']}"


class TrancheWithTermsInWords(serializers.ModelSerializer):
    loan_terms = TermsInWords(allow_null=True)

    class Meta:
        model = Tranche
        fields = ["id", "loan_terms", "currency"]


def test_a_related_rows_field_read_drfs_own_way_is_bound_to_its_own_serializer(world):
    rows = list(Tranche.objects.select_related("loan_terms").order_by("pk"))
    assert any(getattr(row, "loan_terms", None) for row in rows), "a loan among the rows"

    context = {"unit": "months"}

    fast = Rows(rows, child=TrancheWithTermsInWords(context=context), context=context).data

    assert fast == TrancheWithTermsInWords(rows, many=True, context=context).data


def test_a_field_read_drfs_own_way_answers_each_request_with_its_own_context(world):
    rows = list(Tranche.objects.select_related("loan_terms").order_by("pk"))
    answers = []

    for unit in ("months", "mois"):
        context = {"unit": unit}
        child = TrancheWithTermsInWords(context=context)
        answers.append(Rows(rows, child=child, context=context).data)

    for unit, answer in zip(("months", "mois"), answers, strict=True):
        words = [row["loan_terms"]["words"] for row in answer if row["loan_terms"]]
        assert words and all(text.endswith(f" {unit}") for text in words)


class TrancheWithInstants(serializers.ModelSerializer):
    class Meta:
        model = Tranche
        fields = ["id", "created_at", "updated_at"]


def test_an_instant_is_written_in_the_time_zone_active_for_each_answer(world):
    rows = list(Tranche.objects.order_by("pk"))

    with timezone.override(ZoneInfo("Africa/Nairobi")):
        in_nairobi = Rows(rows, child=TrancheWithInstants()).data
        drf_in_nairobi = TrancheWithInstants(rows, many=True).data
    in_utc = Rows(rows, child=TrancheWithInstants()).data

    assert in_nairobi == drf_in_nairobi
    assert in_nairobi[0]["created_at"].endswith("+03:00")
    assert in_utc[0]["created_at"].endswith("Z")


@settings(max_examples=300, deadline=None)
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-0"), Decimal("1E+2")])
    | st.decimals(min_value=-(10**6), max_value=10**6, places=1)
    | st.integers(min_value=-(10**9), max_value=10**9).map(Decimal)
    | st.decimals(min_value=-(10**14), max_value=10**14, places=2)
    | st.decimals(min_value=-1000, max_value=1000, places=4),
    shape=st.sampled_from([(14, 2), (18, 2), (5, 2), (9, 4), (None, 2)]),
)
# With no most digits, DRF's rounding refuses more than the context's 28 (found by hypothesis).
@example(value=Decimal("1E+26"), shape=(None, 2))
@example(value=Decimal("1E+25"), shape=(None, 2))
def test_a_decimal_is_written_as_drf_writes_it(value, shape):
    most, places = shape
    field = serializers.DecimalField(max_digits=most, decimal_places=places)

    try:
        expected = field.to_representation(value)
    except InvalidOperation:
        expected = InvalidOperation

    try:
        written = decimal_representation(field)(value)
    except InvalidOperation:
        written = InvalidOperation

    assert written == expected
