"""REST API for projects."""

from django.utils.translation import gettext as _
from django_countries.django_filters import CountryFilter
from django_countries.serializers import CountryFieldMixin
from django_filters import rest_framework as filters
from rest_framework import serializers

from portfolio.api import RoleTableViewSet, ServiceModelSerializer
from portfolio.models import Organisation
from portfolio.services import save_row

from .models import CostLine, Project, TargetGroup


class ProjectSerializer(CountryFieldMixin, ServiceModelSerializer):
    service = save_row
    target_groups = serializers.ListField(
        child=serializers.ChoiceField(choices=TargetGroup.choices), required=False
    )
    sdg_goals = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=17), required=False
    )
    admin_regions = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False
    )
    sector_name = serializers.CharField(read_only=True)
    obligation_end = serializers.DateField(
        read_only=True, allow_null=True, help_text="Last day the service must stay funded."
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "portfolio",
            "code",
            "title",
            "description",
            "country",
            "sector_code",
            "sector_name",
            "implementing_partner",
            "status",
            "planned_launch_date",
            "launch_date",
            "sustainability_months",
            "obligation_end",
            "target_groups",
            "gender_marker",
            "disability_marker",
            "sdg_goals",
            "admin_regions",
            "iati_identifier",
            "created_at",
            "updated_at",
        ]


class ProjectFilter(filters.FilterSet):
    country = CountryFilter()
    sector = filters.CharFilter(field_name="sector_code", help_text="OECD DAC purpose code.")
    funder = filters.ModelChoiceFilter(
        field_name="tranches__funder",
        queryset=Organisation.objects.all(),
        distinct=True,
        help_text="Projects with a tranche from this organisation.",
    )

    class Meta:
        model = Project
        fields = {
            "portfolio": ["exact"],
            "status": ["exact"],
            "implementing_partner": ["exact"],
            "launch_date": ["gte", "lte"],
            "planned_launch_date": ["gte", "lte"],
        }


class ProjectViewSet(RoleTableViewSet):
    """Pilot projects and their lifecycle; written by portfolio managers."""

    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilter
    search_fields = ["code", "title"]
    ordering = ["portfolio_id", "code"]
    ordering_fields = ["code", "title", "launch_date", "id"]


class CostLineSerializer(ServiceModelSerializer):
    """One recurrent cost of a service's sustainability plan; portfolio managers write them."""

    service = save_row

    class Meta:
        model = CostLine
        fields = [
            "id",
            "project",
            "category",
            "annual_cost",
            "currency",
            "starts_on",
            "ends_on",
            "successor",
            "handover_on",
            "handover_document",
        ]

    def validate_project(self, project):
        if self.instance is not None and project.pk != self.instance.project_id:
            raise serializers.ValidationError(
                _("A cost line cannot move to another project; add it there and delete this one.")
            )
        return project


class CostLineViewSet(RoleTableViewSet):
    """The cost lines of sustainability plans (`?project=` for one plan); a cost that grows is
    a second row of the same category from the day it changes."""

    queryset = CostLine.objects.all()
    serializer_class = CostLineSerializer
    filterset_fields = ["project", "category"]
    ordering = ["project_id", "category", "starts_on", "id"]
    ordering_fields = ["id", "category", "starts_on"]
