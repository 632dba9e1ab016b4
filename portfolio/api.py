"""REST API machinery shared by the apps (role-table permission, errors, pages, token login),
and the portfolio's own resources: portfolios, organisations and exchange rates."""

from collections.abc import Mapping
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import MinValueValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from django_countries.serializers import CountryFieldMixin
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, generics, permissions, serializers, viewsets
from rest_framework import filters as drf_filters
from rest_framework import views as drf_views
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from . import access, errors, logins, services
from .models import ExchangeRate, Organisation, Portfolio
from .pagination import Pagination
from .rows import ReadQuickly, Rows

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY

# --- Permissions: every door asks portfolio.access ----------------------------------------


class RoleTable(permissions.BasePermission):
    """Asks the role table (`portfolio.access`) about the model, then about the row.

    Anonymous requests are refused (401). A signed-in user without a role gets 403 on lists
    and creates, and 404 on any single row, since `visible()` hides every row from them.
    A role that sees a row but may not change it gets 403 with the role table's reason.
    Views name their custom actions' access in `access_actions` ({"verify": access.REVIEW}).
    """

    METHODS = {"POST": access.ADD, "PUT": access.CHANGE, "PATCH": access.CHANGE}

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if not self._offered(request, view):
            return True  # the view answers 405 to everyone signed in
        if not access.can_read(user):
            if getattr(view, "detail", False):
                return True  # get_object() answers 404: the row is not visible to them
            return self._allows(user, access.VIEW, self._model(view))
        return self._allows(user, self._action(request, view), self._model(view))

    def has_object_permission(self, request, view, obj):
        return self._allows(request.user, self._action(request, view), obj)

    def _allows(self, user, action, subject):
        if access.may(user, action, subject):
            return True
        self.message = access.reason(user, action, subject)
        return False

    @staticmethod
    def _offered(request, view):
        method = request.method.lower()
        return method in view.http_method_names and hasattr(view, method)

    @staticmethod
    def _model(view):
        return view.queryset.model

    def _action(self, request, view):
        named = getattr(view, "access_actions", {}).get(getattr(view, "action", None))
        if named:
            return named
        if request.method in permissions.SAFE_METHODS:
            return access.VIEW
        if request.method == "DELETE":
            return access.DELETE
        return self.METHODS[request.method]


# --- Errors: 400 names each field and reason, never a 500 -----------------------------------


def field_errors(error: DjangoValidationError, names=None) -> dict:
    """A Django ValidationError as the API's 400 body: {field: [reasons]}, in plain words.

    `names` maps the model's field names to the resource's (`funder_reference` is
    `reference`); given, a reason about a field the resource does not have goes under
    `non_field_errors`, where its words say which field it means.
    """
    error = errors.plain(error)
    if not hasattr(error, "error_dict"):
        return {NON_FIELD: error.messages}
    found = {}
    for key, messages in error.message_dict.items():
        if key == NON_FIELD_ERRORS or (names is not None and key not in names):
            found.setdefault(NON_FIELD, []).extend(messages)
        else:
            found.setdefault(names.get(key, key) if names else key, []).extend(messages)
    return found


def exception_handler(exc, context):
    """DRF's handler, taught the errors the models and the database raise."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    elif isinstance(exc, ProtectedError):
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        exc = exceptions.ValidationError(
            {
                NON_FIELD: [
                    _("It cannot be deleted while %(rows)s refer to it.")
                    % {"rows": ", ".join(kinds)}
                ]
            }
        )
    elif isinstance(exc, IntegrityError):
        # Validation runs before every save, so this is a race with another request.
        exc = exceptions.ValidationError(field_errors(errors.from_integrity_error(exc)))
    return drf_views.exception_handler(exc, context)


ERROR_SCHEMA = {
    "type": "object",
    "description": "Why the request was refused.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "Each field that was refused, with its reasons; `non_field_errors` for reasons about "
        "the whole record; a nested object (such as `loan_terms`) has the same shape; "
        "`detail` alone when the body could not be read."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
    },
}
ERROR_RESPONSES = {
    "400": ("FieldErrors", "Bad input: each field and the reason."),
    "401": ("Error", "Not signed in: send `Authorization: Token <key>` or a session cookie."),
    "403": ("Error", "Signed in, but the role table does not allow this."),
    "404": ("Error", "No such record, or not one this user may see; or no such page."),
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation describes its error answers."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["FieldErrors"] = FIELD_ERRORS_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            errors = dict(ERROR_RESPONSES)
            if path.endswith("/auth/token/"):
                errors = {
                    "400": errors["400"],
                    "429": (
                        "Error",
                        "Too many failed logins from this address or for this user; wait.",
                    ),
                }
            if "requestBody" in operation:
                errors["415"] = ("Error", "The body is not in a media type listed here.")
            for code, (name, description) in errors.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                        },
                    },
                )
    return result


# --- Lists: pages and search ----------------------------------------------------------------


class SearchFilter(drf_filters.SearchFilter):
    """DRF's search, its refusals (a NUL character) named by the parameter like any other 400."""

    def get_search_terms(self, request):
        try:
            return super().get_search_terms(request)
        except exceptions.ValidationError as error:
            raise exceptions.ValidationError({self.search_param: error.detail}) from error


class FilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, which builds the list's filters and their form for every
    request: a request that names none of them (`?page_size=50`) gets the list unfiltered
    without building them, as it would with them (each filter leaves a list alone when
    its value is missing)."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not self.asked_of(filterset_class, request):
            return queryset
        return super().filter_queryset(request, queryset, view)

    @staticmethod
    def asked_of(filterset_class, request):
        """Does the request name one of the filters (each form field reads its own name, or
        its name with a suffix), or may the filter set filter when none is named?"""
        if (
            filterset_class.filter_queryset is not filters.FilterSet.filter_queryset
            or filterset_class.qs is not filters.FilterSet.qs
            or any(f.extra.get("required") for f in filterset_class.base_filters.values())
        ):
            return True
        names = tuple(filterset_class.base_filters)
        return any(key.startswith(names) for key in request.query_params)


def row_filter(field_name, model, **kwargs):
    """Filter by a related row's id: an id that names no row is a 400, never a crash."""
    return filters.ModelChoiceFilter(field_name=field_name, queryset=model.objects.all(), **kwargs)


# --- Writes: known fields only, each through the service its serializer names -------------


class KnownFieldsOnly:
    """A serializer mixin: a field the request sends that the serializer does not know is a
    400 naming it (a script sending the page's `funder_reference` for `reference` would
    otherwise save a tranche without its reference). Read-only fields are known: a client
    may send back what it read."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = ", ".join(name for name, field in self.fields.items() if not field.read_only)
            unknown = {
                name: [_("Unknown field. The fields here are: %(fields)s.") % {"fields": writable}]
                for name in data
                if name not in self.fields
            }
        try:
            value = super().to_internal_value(data)
        except exceptions.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise exceptions.ValidationError({**error.detail, **unknown}) from error
            raise
        if unknown:
            raise exceptions.ValidationError(unknown)
        return value


class InputSerializer(KnownFieldsOnly, serializers.Serializer):
    """A request body that is not a row (an acknowledgement, a rejection, an export request)."""


class ServiceModelSerializer(KnownFieldsOnly, ReadQuickly, serializers.ModelSerializer):
    """A row's resource: builds the row from the request and hands it to the service the
    concrete serializer names, `service(row, user)`, which asks the role table, validates and
    saves (`service = services.save_exchange_rate`). A serializer whose write takes more than
    the row (a tranche with its loan terms) overrides `persist()` and calls its service there.
    There is no default: a serializer that names no service cannot write.

    Uniqueness is left to the model's validation in the service, which knows the models'
    conditional constraints, so the rule lives in one place.
    """

    service = None

    def get_validators(self):
        return []

    def build_standard_field(self, field_name, model_field):
        """DRF turns a model's MinValueValidator into its own check and words it its own way
        ("greater than or equal to 1E-8"); a validator with a message of its own keeps it."""
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        for validator in model_field.validators:
            if (
                isinstance(validator, MinValueValidator)
                and validator.message != MinValueValidator.message
            ):
                kwargs.setdefault("error_messages", {})["min_value"] = validator.message
        return field_class, kwargs

    def create(self, validated_data):
        return self.persist(self.Meta.model(**validated_data))

    def update(self, instance, validated_data):
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self.persist(instance)

    @property
    def user(self):
        return self.context["request"].user

    def persist(self, row):
        service = type(self).service  # the plain function, not bound to the serializer
        if service is None:
            raise NotImplementedError(f"{type(self).__name__} names no service to save with.")
        with self.model_errors(), transaction.atomic():
            return service(row, self.user)

    @contextmanager
    def model_errors(self, nest_under=None):
        """Turn a refusal of the model or the database into the API's 400, plain and in the
        API's field names."""
        try:
            yield
        except (DjangoValidationError, IntegrityError) as error:
            if isinstance(error, IntegrityError):
                error = errors.from_integrity_error(error)
            names = {field.source: name for name, field in self.fields.items()}
            found = field_errors(error, names)
            raise exceptions.ValidationError(
                {nest_under: found} if nest_under else found
            ) from error


class RoleTableMixin:
    """A model's resource: lists what the user may see, writes as the role table allows."""

    permission_classes = [RoleTable]
    filter_backends = [FilterBackend, drf_filters.OrderingFilter, SearchFilter]
    pagination_class = Pagination
    # Any path segment reaches the view, which answers a JSON 404 for a bad id rather than
    # leaving it to the URL resolver's HTML page.
    lookup_value_regex = "[^/]+"
    access_actions: dict = {}

    @classmethod
    def as_view(cls, *args, **kwargs):
        # Not ATOMIC_REQUESTS' transaction round every request: dispatch() decides.
        return transaction.non_atomic_requests(super().as_view(*args, **kwargs))

    def dispatch(self, request, *args, **kwargs):
        """A write runs in a transaction, all or nothing. A read runs in none of its own (BEGIN
        and COMMIT would add two round trips to every page), unless it is called inside one,
        which then gets a savepoint so that a refused read leaves it usable."""
        if request.method in permissions.SAFE_METHODS and not connection.in_atomic_block:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return access.visible(self.request.user, super().get_queryset())

    def filter_queryset(self, queryset):
        # One row is found by its id alone: building the list's filters for it would cost
        # more than reading it.
        if getattr(self, "detail", False):
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer(self, *args, **kwargs):
        # A list page's rows, read the shortest way each field allows (portfolio.rows).
        if kwargs.pop("many", False):
            kwargs.setdefault("context", self.get_serializer_context())
            child = self.get_serializer_class()(context=kwargs["context"])
            return Rows(*args, child=child, **kwargs)
        return super().get_serializer(*args, **kwargs)

    def perform_destroy(self, instance):
        access.check(self.request.user, access.DELETE, instance)
        instance.delete()


class RoleTableViewSet(RoleTableMixin, viewsets.ModelViewSet):
    pass


# --- Token login ----------------------------------------------------------------------------


class FailedLoginThrottle(BaseThrottle):
    """Refuses a login while its client address or its username has failed too often
    (`portfolio.logins`, shared with the page and admin logins); failures are counted as
    Django announces them, so a successful login is never counted."""

    def allow_request(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        self.seconds = logins.wait_seconds(request, username)
        return not self.seconds

    def wait(self):
        return self.seconds


class TokenLoginSerializer(KnownFieldsOnly, AuthTokenSerializer):
    pass


class TokenLogin(generics.GenericAPIView):
    """Trade a username and password for the user's API token."""

    serializer_class = TokenLoginSerializer
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [FailedLoginThrottle]

    @extend_schema(
        auth=[],
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


# --- Portfolios, organisations, exchange rates ---------------------------------------------


class PortfolioSerializer(ServiceModelSerializer):
    service = services.save_portfolio
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=3650),
        required=False,
        help_text="Remind funders this many days before secured maintenance ends.",
    )

    class Meta:
        model = Portfolio
        fields = ["id", "name", "reporting_currency", "lapse_warning_days", "reminder_days"]
        extra_kwargs = {"lapse_warning_days": {"min_value": 1}}


class PortfolioViewSet(RoleTableViewSet):
    """Programmes or funds, each with its reporting currency and lapse warning settings."""

    queryset = Portfolio.objects.all()
    serializer_class = PortfolioSerializer
    filterset_fields = ["reporting_currency"]
    search_fields = ["name"]
    ordering = ["name"]
    ordering_fields = ["name", "id"]


class OrganisationSerializer(CountryFieldMixin, ServiceModelSerializer):
    service = services.save_organisation

    class Meta:
        model = Organisation
        fields = [
            "id",
            "name",
            "is_funder",
            "is_implementer",
            "is_evaluator",
            "funder_type",
            "country",
            "iati_identifier",
        ]


class OrganisationViewSet(RoleTableViewSet):
    """Funders, implementing partners and evaluation firms."""

    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    filterset_fields = ["is_funder", "is_implementer", "is_evaluator", "funder_type", "country"]
    search_fields = ["name", "iati_identifier"]
    ordering = ["name"]
    ordering_fields = ["name", "id"]


class ExchangeRateSerializer(ServiceModelSerializer):
    service = services.save_exchange_rate

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "to_currency", "rate", "valid_on", "source"]


class ExchangeRateFilter(filters.FilterSet):
    class Meta:
        model = ExchangeRate
        fields = {
            "currency": ["exact"],
            "to_currency": ["exact"],
            "valid_on": ["exact", "gte", "lte"],
        }


class ExchangeRateViewSet(RoleTableViewSet):
    """Rates of currencies to reporting currencies by date; written by finance staff."""

    queryset = ExchangeRate.objects.all()
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    search_fields = ["currency", "to_currency", "source"]
    ordering = ["currency", "to_currency", "valid_on"]
    ordering_fields = ["valid_on", "id"]

    def perform_destroy(self, instance):
        """A wrong rate is retired through the service the pages use, with an optional
        ?reason= kept in its history."""
        services.retire_exchange_rate(
            instance, self.request.user, self.request.query_params.get("reason", "")
        )
