"""REST API for money: tranches (with loan terms, repayment schedules and loan status),
disbursements, loan repayments, lapse flags and a project's maintenance coverage."""

from datetime import date
from io import BytesIO

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries.django_filters import CountryFilter
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, generics, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluations.models import PayoutTerms
from portfolio import access
from portfolio.api import (
    InputSerializer,
    KnownFieldsOnly,
    RoleTableMixin,
    RoleTableViewSet,
    ServiceModelSerializer,
    field_errors,
    row_filter,
)
from portfolio.fields import TEXT_LENGTH, validate_calendar_date
from portfolio.models import Organisation, Portfolio
from portfolio.xlsx import XLSX
from projects.models import Project

from . import loans, schedules, selectors, services
from .models import (
    Allocation,
    Disbursement,
    DisbursementState,
    FlagKind,
    LapseFlag,
    LoanTerms,
    Repayment,
    Tranche,
)
from .tranche_import import import_tranches, tranche_template
from .tranche_terms import tranches_with_terms

MONEY_DIGITS = {"max_digits": 18, "decimal_places": 2}


class LoanTermsSerializer(KnownFieldsOnly, serializers.ModelSerializer):
    """Written only with its tranche, through `services.save_tranche`."""

    class Meta:
        model = LoanTerms
        fields = LoanTerms.TERM_FIELDS


class PayoutTermsSerializer(serializers.ModelSerializer):
    earned_amount = serializers.DecimalField(
        **MONEY_DIGITS,
        source="eligible_amount",
        read_only=True,
        help_text="What verified results have earned so far, capped at the tranche amount.",
    )

    class Meta:
        model = PayoutTerms
        fields = ["target", "rule", "minimum_achievement", "earned_amount", "achievement"]
        read_only_fields = fields


class TrancheSerializer(ServiceModelSerializer):
    reference = serializers.CharField(
        source="funder_reference",
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The funder's own reference; unique per funder.",
    )
    loan_terms = LoanTermsSerializer(
        required=False,
        allow_null=True,
        help_text="Loans only. Written with the tranche, all or nothing; null removes them.",
    )
    payout_terms = PayoutTermsSerializer(read_only=True, allow_null=True)
    undisbursed_amount = serializers.DecimalField(**MONEY_DIGITS, read_only=True)
    payable_amount = serializers.DecimalField(
        **MONEY_DIGITS,
        read_only=True,
        help_text="What may still be disbursed now: zero unless the tranche is committed; for "
        "results-based funding, what verified results have earned less what was paid.",
    )
    disbursement_state = serializers.ChoiceField(choices=DisbursementState.choices, read_only=True)

    class Meta:
        model = Tranche
        fields = [
            "id",
            "project",
            "funder",
            "reference",
            "instrument",
            "purpose",
            "amount",
            "currency",
            "status",
            "committed_on",
            "expected_disbursement_on",
            "covers_from",
            "covers_until",
            "notes",
            "disbursed_amount",
            "undisbursed_amount",
            "payable_amount",
            "disbursement_state",
            "loan_terms",
            "payout_terms",
            "created_at",
            "updated_at",
        ]

    def create(self, validated_data):
        loan_terms = validated_data.pop("loan_terms", services.UNCHANGED)
        return self.persist(Tranche(**validated_data), loan_terms)

    def update(self, tranche, validated_data):
        loan_terms = validated_data.pop("loan_terms", services.UNCHANGED)
        for name, value in validated_data.items():
            setattr(tranche, name, value)
        return self.persist(tranche, loan_terms)

    def persist(self, tranche, loan_terms=services.UNCHANGED):
        with self.model_errors():
            try:
                services.save_tranche(tranche, self.user, loan_terms=loan_terms)
            except services.LoanTermsRefused as error:
                raise exceptions.ValidationError({"loan_terms": field_errors(error)}) from error
        # Read back as the list reads it, so the answer shows the stored terms and totals.
        return TrancheViewSet.queryset.get(pk=tranche.pk)


class TrancheFilter(filters.FilterSet):
    portfolio = row_filter("project__portfolio", Portfolio)
    country = CountryFilter(field_name="project__country")
    sector = filters.CharFilter(field_name="project__sector_code", help_text="OECD DAC code.")

    class Meta:
        model = Tranche
        fields = {
            "project": ["exact"],
            "funder": ["exact"],
            "status": ["exact"],
            "instrument": ["exact"],
            "purpose": ["exact"],
            "currency": ["exact"],
            "committed_on": ["gte", "lte"],
            "expected_disbursement_on": ["gte", "lte"],
            "covers_from": ["gte", "lte"],
            "covers_until": ["gte", "lte"],
        }


class InstalmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    opening_balance = serializers.DecimalField(**MONEY_DIGITS)
    interest = serializers.DecimalField(**MONEY_DIGITS)
    principal = serializers.DecimalField(**MONEY_DIGITS)
    payment = serializers.DecimalField(**MONEY_DIGITS)
    closing_balance = serializers.DecimalField(**MONEY_DIGITS)


class ScheduleSerializer(serializers.Serializer):
    tranche = serializers.IntegerField()
    currency = serializers.CharField()
    loan_terms = LoanTermsSerializer()
    instalments = InstalmentSerializer(many=True)


class LoanLineSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="instalment.number")
    due_on = serializers.DateField()
    interest = serializers.DecimalField(**MONEY_DIGITS, source="instalment.interest")
    principal = serializers.DecimalField(**MONEY_DIGITS, source="instalment.principal")
    interest_paid = serializers.DecimalField(**MONEY_DIGITS)
    principal_paid = serializers.DecimalField(**MONEY_DIGITS)
    state = serializers.ChoiceField(
        choices=[loans.PAID, loans.OVERDUE, loans.DUE, loans.UPCOMING],
        help_text="paid; overdue (fell due before as_of, unpaid); due (due on as_of); upcoming.",
    )


class LoanStatusSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    principal_disbursed = serializers.DecimalField(**MONEY_DIGITS)
    principal_repaid = serializers.DecimalField(**MONEY_DIGITS)
    principal_outstanding = serializers.DecimalField(**MONEY_DIGITS)
    interest_due = serializers.DecimalField(
        **MONEY_DIGITS, help_text="Interest of every instalment due on or before as_of."
    )
    interest_received = serializers.DecimalField(**MONEY_DIGITS)
    principal_in_arrears = serializers.DecimalField(**MONEY_DIGITS)
    interest_in_arrears = serializers.DecimalField(**MONEY_DIGITS)
    days_overdue = serializers.IntegerField(help_text="Of the oldest instalment in arrears.")
    first_overdue_on = serializers.DateField(allow_null=True)
    instalments = LoanLineSerializer(
        many=True, source="lines", help_text="The schedule of what was disbursed, beside payments."
    )


class TrancheDetailSerializer(TrancheSerializer):
    loan_status = serializers.SerializerMethodField(
        help_text="Loans only (null otherwise): the loan as of today, or ?as_of=."
    )

    class Meta(TrancheSerializer.Meta):
        fields = [*TrancheSerializer.Meta.fields, "loan_status"]

    @extend_schema_field(LoanStatusSerializer(allow_null=True))
    def get_loan_status(self, tranche):
        found = self.context.get("loan_status")
        return LoanStatusSerializer(found).data if found is not None else None


class AsOfSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, validators=[validate_calendar_date])


# The `as_of` query parameter of every read "as of a day", as the schema shows it.
AS_OF = OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today.")


def as_of_from(request) -> date:
    """The day a read asks for in `?as_of=` (a 400 naming the field if it is not a calendar
    date), else today."""
    query = AsOfSerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("as_of") or timezone.localdate()


class TrancheViewSet(RoleTableViewSet):
    """Slices of money from one funder to one project; a donor officer writes its own organisation's."""

    queryset = tranches_with_terms()
    serializer_class = TrancheSerializer
    filterset_class = TrancheFilter
    search_fields = ["project__code", "project__title", "funder_reference"]
    ordering = ["id"]
    ordering_fields = [
        "amount",
        "committed_on",
        "covers_from",
        "covers_until",
        "expected_disbursement_on",
        "id",
    ]

    @extend_schema(
        responses=TrancheDetailSerializer,
        parameters=[AS_OF],
    )
    def retrieve(self, request, *args, **kwargs):
        """One tranche; a loan with its status (outstanding, arrears) as of today or ?as_of=."""
        tranche = self.get_object()
        as_of = as_of_from(request)
        context = self.get_serializer_context()
        context["loan_status"] = selectors.loan_statuses([tranche], as_of).get(tranche.pk)
        return Response(TrancheDetailSerializer(tranche, context=context).data)

    @extend_schema(responses=ScheduleSerializer)
    @action(detail=True)
    def schedule(self, request, pk=None):
        """The loan's repayment schedule, from its terms and the tranche amount."""
        tranche = self.get_object()
        terms = getattr(tranche, "loan_terms", None)
        if terms is None:
            raise exceptions.NotFound("This tranche has no loan terms, so no repayment schedule.")
        try:
            instalments = terms.schedule()
        except schedules.ScheduleError as error:
            raise exceptions.ValidationError({"loan_terms": [str(error)]}) from error
        report = {
            "tranche": tranche.pk,
            "currency": tranche.currency,
            "loan_terms": terms,
            "instalments": instalments,
        }
        return Response(ScheduleSerializer(report).data)


class DisbursementSerializer(ServiceModelSerializer):
    currency = serializers.CharField(source="tranche.currency", read_only=True)

    class Meta:
        model = Disbursement
        fields = [
            "id",
            "tranche",
            "disbursed_on",
            "amount",
            "currency",
            "reference",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["recorded_by", "recorded_at"]

    def create(self, validated_data):
        try:
            return services.disburse(
                validated_data["tranche"],
                validated_data["amount"],
                validated_data["disbursed_on"],
                reference=validated_data.get("reference", ""),
                recorded_by=self.context["request"].user,
            )
        except ValidationError as error:
            raise exceptions.ValidationError(field_errors(error)) from error


class UndoSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=services.UNDO_REASON_MAX,
        help_text="Why the payment is undone; kept in its history.",
    )


def undo_schema(what):
    """The OpenAPI description of an undo (DELETE with a reason) of a `what`."""
    return extend_schema(
        request=UndoSerializer,
        parameters=[
            OpenApiParameter(
                "reason",
                str,
                description=f"Why the {what} is undone, if not in the body.",
                required=False,
            )
        ],
        responses={204: None},
    )


def undone(request, undo, row):
    """Undo `row` with the service `undo(row, user, reason)`, the reason from the body or the
    query: 204, or 404 when somebody undid it first."""
    reason = request.data.get("reason") if hasattr(request.data, "get") else None
    checked = UndoSerializer(data={"reason": reason or request.query_params.get("reason", "")})
    checked.is_valid(raise_exception=True)
    try:
        undo(row, request.user, checked.validated_data["reason"])
    except services.AlreadyUndone as gone:
        raise exceptions.NotFound(str(gone)) from gone
    except ValidationError as error:
        raise exceptions.ValidationError(field_errors(error)) from error
    return Response(status=status.HTTP_204_NO_CONTENT)


class DisbursementFilter(filters.FilterSet):
    project = row_filter("tranche__project", Project)
    portfolio = row_filter("tranche__project__portfolio", Portfolio)
    funder = row_filter("tranche__funder", Organisation)

    class Meta:
        model = Disbursement
        fields = {"tranche": ["exact"], "disbursed_on": ["gte", "lte"]}


class DisbursementViewSet(RoleTableViewSet):
    """Payments on tranches. A payment recorded in error is deleted (its amount goes back to
    the tranche) and entered again; it is never edited."""

    queryset = Disbursement.objects.select_related("tranche")
    serializer_class = DisbursementSerializer
    filterset_class = DisbursementFilter
    search_fields = ["reference", "tranche__project__code", "tranche__project__title"]
    ordering = ["id"]
    ordering_fields = ["disbursed_on", "amount", "id"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # A page shows only the currency of each payment's tranche: reading the whole
            # tranche for every row cost more than the rest of the row.
            queryset = queryset.only(
                *(name for name in DisbursementSerializer.Meta.fields if name != "currency"),
                "tranche__currency",
            )
        return queryset

    @undo_schema("payment")
    def destroy(self, request, *args, **kwargs):
        """Undo a payment recorded in error, with the reason; a second undo is a 404."""
        return undone(request, services.undo_disbursement, self.get_object())


class RepaymentSerializer(ServiceModelSerializer):
    currency = serializers.CharField(source="tranche.currency", read_only=True)

    class Meta:
        model = Repayment
        fields = [
            "id",
            "tranche",
            "received_on",
            "principal",
            "interest",
            "currency",
            "reference",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["recorded_by", "recorded_at"]

    def create(self, validated_data):
        try:
            return services.record_repayment(
                validated_data["tranche"],
                validated_data["received_on"],
                validated_data.get("principal", 0),
                validated_data.get("interest", 0),
                reference=validated_data.get("reference", ""),
                recorded_by=self.context["request"].user,
            )
        except ValidationError as error:
            raise exceptions.ValidationError(field_errors(error)) from error


class RepaymentFilter(filters.FilterSet):
    project = row_filter("tranche__project", Project)
    portfolio = row_filter("tranche__project__portfolio", Portfolio)
    funder = row_filter("tranche__funder", Organisation)

    class Meta:
        model = Repayment
        fields = {"tranche": ["exact"], "received_on": ["gte", "lte"]}


class RepaymentViewSet(RoleTableViewSet):
    """Money received back on loan tranches: principal and interest. Finance staff and
    managers record them; one recorded in error is undone (with a reason), never edited."""

    queryset = Repayment.objects.select_related("tranche")
    serializer_class = RepaymentSerializer
    filterset_class = RepaymentFilter
    search_fields = ["reference", "tranche__project__code", "tranche__project__title"]
    ordering = ["id"]
    ordering_fields = ["received_on", "id"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    @undo_schema("repayment")
    def destroy(self, request, *args, **kwargs):
        """Undo a repayment recorded in error, with the reason; a second undo is a 404."""
        return undone(request, services.undo_repayment, self.get_object())


class LapseFlagSerializer(serializers.ModelSerializer):
    days_to_lapse = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="Days from the last scan to the gap: positive before the lapse, zero or "
        "negative after.",
    )
    is_open = serializers.BooleanField(read_only=True)
    escalated_from = serializers.ChoiceField(
        choices=FlagKind.choices,
        allow_blank=True,
        read_only=True,
        help_text="The warning this lapse escalated from, if any.",
    )

    class Meta:
        model = LapseFlag
        fields = [
            "id",
            "project",
            "kind",
            "gap_start",
            "gap_end",
            "days_to_lapse",
            "shortfall",
            "lines",
            "escalated_from",
            "raised_at",
            "last_seen_on",
            "is_open",
            "resolved_at",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledgement_note",
        ]
        read_only_fields = fields


class AcknowledgementSerializer(InputSerializer):
    note = serializers.CharField(
        max_length=TEXT_LENGTH, help_text="What the funder is doing about it."
    )


class LapseFlagFilter(filters.FilterSet):
    portfolio = row_filter("project__portfolio", Portfolio)
    open = filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", help_text="true: open; false: resolved."
    )
    acknowledged = filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True
    )
    as_of = filters.DateFilter(
        method="open_on",
        validators=[validate_calendar_date],
        help_text="Only the flags that were open at the end of this day (a snapshot).",
    )

    def open_on(self, queryset, name, value):
        return selectors.open_flags_on(value, flags=queryset)

    class Meta:
        model = LapseFlag
        fields = {
            "project": ["exact"],
            "kind": ["exact"],
            "gap_start": ["gte", "lte"],
            "gap_end": ["gte", "lte"],
            "raised_at": ["date__gte", "date__lte"],
            "resolved_at": ["date__gte", "date__lte"],
        }


class LapseFlagViewSet(RoleTableMixin, viewsets.ReadOnlyModelViewSet):
    """Raised and resolved by the lapse scan; people read and acknowledge them."""

    queryset = LapseFlag.objects.all()
    serializer_class = LapseFlagSerializer
    filterset_class = LapseFlagFilter
    search_fields = ["project__code", "project__title"]
    ordering = ["-raised_at"]
    ordering_fields = ["raised_at", "gap_start", "id"]
    access_actions = {"acknowledge": access.ACKNOWLEDGE}

    @extend_schema(request=AcknowledgementSerializer, responses=LapseFlagSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Say the flag has been seen, with a note on what is being done."""
        flag = self.get_object()
        body = AcknowledgementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        flag.acknowledge(request.user, body.validated_data["note"])
        return Response(self.get_serializer(flag).data)


# --- A project's maintenance coverage -------------------------------------------------------

FORECAST_MONTHS = selectors.FORECAST_MONTHS


class IntervalSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class MonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="First day of the month.")
    secured_days = serializers.IntegerField()
    pipeline_only_days = serializers.IntegerField()
    uncovered_days = serializers.IntegerField()
    outside_window_days = serializers.IntegerField()


class CoverageSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Project.Status.choices)
    as_of = serializers.DateField()
    window = IntervalSerializer(
        allow_null=True,
        help_text="The obligation window; null unless the project is launched.",
    )
    secured = IntervalSerializer(many=True, help_text="Merged committed maintenance cover.")
    pipeline = IntervalSerializer(many=True, help_text="Merged cover including planned tranches.")
    gaps = IntervalSerializer(many=True, help_text="Days of the window without secured cover.")
    next_gap = IntervalSerializer(allow_null=True)
    days_to_lapse = serializers.IntegerField(allow_null=True)
    open_flags = LapseFlagSerializer(many=True, help_text="Open at the end of as_of.")
    forecast = MonthSerializer(many=True, help_text="Month by month from as_of, 24 months.")


class ProjectCoverageView(RoleTableMixin, generics.RetrieveAPIView):
    """A launched project's obligation window, secured and planned cover, gaps, open flags and
    the 24-month forecast, as the lapse scan sees them on `as_of` (default today)."""

    detail = True  # a user without a role gets 404, as for every single row
    queryset = Project.objects.all()
    serializer_class = CoverageSerializer

    @extend_schema(parameters=[AS_OF])
    def get(self, request, *args, **kwargs):
        project = self.get_object()
        as_of = as_of_from(request)
        judged = selectors.project_coverage(project, as_of, FORECAST_MONTHS)
        report = {
            "project": project.pk,
            "code": project.code,
            "status": project.status,
            "as_of": as_of,
            "window": None,
            "secured": [],
            "pipeline": [],
            "gaps": [],
            "next_gap": None,
            "days_to_lapse": None,
            "open_flags": selectors.open_flags_on(as_of, [project.pk]),
            "forecast": judged.forecast,
        }
        if judged.assessment is not None:  # launched
            a = judged.assessment
            report.update(
                window=a.window,
                secured=a.secured,
                pipeline=a.pipeline,
                gaps=a.gaps,
                next_gap=a.next_gap,
                days_to_lapse=a.days_to_lapse,
            )
        return Response(CoverageSerializer(report).data)


class AllocationSerializer(ServiceModelSerializer):
    service = services.save_allocation
    currency = serializers.CharField(source="tranche.currency", read_only=True)

    class Meta:
        model = Allocation
        fields = ["id", "tranche", "category", "amount", "share", "currency"]

    def validate_tranche(self, tranche):
        if self.instance is not None and tranche.pk != self.instance.tranche_id:
            raise serializers.ValidationError(_("An allocation cannot move to another tranche."))
        return tranche


class AllocationFilter(filters.FilterSet):
    project = row_filter("tranche__project", Project)

    class Meta:
        model = Allocation
        fields = {"tranche": ["exact"], "category": ["exact"]}


class AllocationViewSet(RoleTableViewSet):
    """Which cost lines of the plan a maintenance tranche pays, as an amount (in the tranche's
    currency) or a share; a tranche with none pays the whole plan. Written as its tranche is."""

    queryset = Allocation.objects.select_related("tranche")
    serializer_class = AllocationSerializer
    filterset_class = AllocationFilter
    ordering = ["id"]
    ordering_fields = ["id"]

    def perform_destroy(self, instance):
        services.delete_allocation(instance, self.request.user)


class PlanYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    cost = serializers.DecimalField(**MONEY_DIGITS)
    secured = serializers.DecimalField(**MONEY_DIGITS)
    shortfall = serializers.DecimalField(**MONEY_DIGITS)


class PlanLineSerializer(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    due = IntervalSerializer(many=True, source="coverage.due")
    secured = IntervalSerializer(many=True, source="coverage.secured")
    pipeline = IntervalSerializer(many=True, source="coverage.pipeline")
    gaps = IntervalSerializer(many=True, source="coverage.gaps")
    months = serializers.SerializerMethodField()
    years = PlanYearSerializer(many=True)
    cost_lines = serializers.SerializerMethodField(help_text="Ids of the line's cost rows.")
    successor = serializers.CharField(help_text="Who takes the line over; empty: nobody yet.")
    handover_on = serializers.DateField(allow_null=True)
    handover_document = serializers.CharField()

    def get_months(self, line) -> list[str]:
        return [m.state for m in line.coverage.months]

    def get_cost_lines(self, line) -> list[int]:
        return [row.pk for row in line.rows]


class PlanSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project_id")
    as_of = serializers.DateField()
    window = IntervalSerializer(allow_null=True)
    currency = serializers.CharField(help_text="The reporting currency of cost and money.")
    months = serializers.ListField(
        child=serializers.DateField(), help_text="The months of each line's `months` grid."
    )
    unconverted = serializers.CharField(help_text="Why money per year is missing, if it is.")
    lines = PlanLineSerializer(many=True)


class ProjectPlanView(RoleTableMixin, generics.RetrieveAPIView):
    """A project's sustainability plan on `as_of` (default today): per cost line the days it
    is due, paid and left as gaps, a month grid over the obligation window (funded, planned,
    gap, none), cost and secured money per calendar year, and who takes it over."""

    detail = True
    queryset = Project.objects.select_related("portfolio")
    serializer_class = PlanSerializer

    @extend_schema(parameters=[AS_OF])
    def get(self, request, *args, **kwargs):
        project = self.get_object()
        as_of = as_of_from(request)
        plan = selectors.project_plan(project, as_of)
        return Response(PlanSerializer(plan).data)


TEMPLATE_NAME = "tranche-template.xlsx"


IMPORT_RESULT = inline_serializer(
    "TrancheImportResult",
    fields={
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "errors": inline_serializer(
            "TrancheImportError",
            fields={
                "sheet": serializers.CharField(),
                "row": serializers.IntegerField(allow_null=True),
                "column": serializers.CharField(),
                "header": serializers.CharField(),
                "reason": serializers.CharField(),
            },
            many=True,
        ),
    },
)


class TrancheTemplateView(APIView):
    @extend_schema(
        summary="The tranche import template",
        responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY)},
        tags=["tranche imports"],
    )
    def get(self, request):
        access.check(request.user, access.VIEW, Tranche)
        out = BytesIO()
        tranche_template(out)
        response = HttpResponse(out.getvalue(), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_NAME}"'
        return response


class TrancheImportView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Import tranches from a filled-in template",
        description=(
            "Every row is checked first; either all rows are saved or none. A 400 lists every "
            "error by sheet, row and column. Rows are matched on funder and reference."
        ),
        request={
            "multipart/form-data": inline_serializer(
                "TrancheImportUpload", fields={"file": serializers.FileField()}
            )
        },
        responses={200: IMPORT_RESULT, 201: IMPORT_RESULT, 400: IMPORT_RESULT},
        tags=["tranche imports"],
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"created": 0, "updated": 0, "unchanged": 0, "errors": [
                    {"sheet": "", "row": None, "column": "", "header": "",
                     "reason": "Attach the workbook as the form field 'file'."}
                ]},
                status=status.HTTP_400_BAD_REQUEST,
            )  # fmt: skip
        result = import_tranches(upload, request.user)
        if not result.ok:
            return Response(result.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(result.as_dict(), status=code)
