"""Forms of the results pages: record a measurement, review it, record an evaluation."""

from itertools import combinations

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from portfolio.fields import TEXT_LENGTH
from portfolio.forms import PageFormMixin
from portfolio.models import Organisation

from . import disaggregation
from .models import DAC_CRITERIA, Evaluation, FollowUp, Measurement, Recommendation, category_names


def date_input():
    # Browsers send ISO dates from a date picker, whatever the page's language.
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def decimal_input():
    return forms.TextInput(attrs={"inputmode": "decimal"})


class MeasurementForm(PageFormMixin, forms.ModelForm):
    class Meta:
        model = Measurement
        fields = [
            "indicator",
            "period_start",
            "period_end",
            "disaggregation",
            "value",
            "numerator",
            "denominator",
            "source",
            "comment",
        ]
        labels = {
            "indicator": _("Indicator"),
            "period_start": _("Period from"),
            "period_end": _("Period until"),
            "disaggregation": _("Group"),
            "value": _("Value"),
            "numerator": _("Numerator"),
            "denominator": _("Denominator"),
            "source": _("Source / means of verification"),
            "comment": _("Comment"),
        }
        help_texts = {
            "value": _(
                "For a percentage indicator leave this empty and give numerator and denominator."
            ),
            "disaggregation": _("Leave at Total unless the value is for one group."),
            "source": _("For example: ID registry extract of 31 March, household survey report."),
        }
        widgets = {
            "period_start": date_input(),
            "period_end": date_input(),
            "value": decimal_input(),
            "numerator": decimal_input(),
            "denominator": decimal_input(),
            "comment": forms.Textarea(attrs={"rows": 3}),
        }
        localized_fields = ["value", "numerator", "denominator"]

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicator"].queryset = project.indicators.all()
        self.fields["value"].required = False
        self.fields["disaggregation"] = forms.ChoiceField(
            label=self.fields["disaggregation"].label,
            help_text=self.fields["disaggregation"].help_text,
            choices=group_choices(project),
            required=False,
        )


def group_choices(project):
    """Total, each value of the dimensions the project's indicators report by, and each pair
    of values of two such dimensions (rural women); the model checks the indicator's own."""
    chosen = set()
    for dimensions in project.indicators.values_list("disaggregations", flat=True):
        chosen.update(dimensions or [])
    singles = [
        (key, name)
        for key, name in category_names(project.portfolio_id).items()
        if disaggregation.parse(key)[0][0] in chosen
    ]
    pairs = [
        (disaggregation.key_of(disaggregation.parse(a) + disaggregation.parse(b)), f"{x}, {y}")
        for (a, x), (b, y) in combinations(singles, 2)
        if disaggregation.parse(a)[0][0] != disaggregation.parse(b)[0][0]
    ]
    return [("", _("Total")), *singles, *pairs]


class ReviewForm(PageFormMixin, forms.Form):
    VERIFY = "verify"
    RETURN = "return"
    REJECT = "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            (VERIFY, _("Verify: the source supports the value")),
            (RETURN, _("Return for revision")),
            (REJECT, _("Reject")),
        ],
        widget=forms.RadioSelect,
    )
    rejection_reason = forms.CharField(
        label=_("Comment or reason"),
        max_length=TEXT_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed when you return or reject; the reporter sees it."),
    )

    def clean(self):
        data = super().clean()
        needs_reason = data.get("decision") in (self.REJECT, self.RETURN)
        if needs_reason and not (data.get("rejection_reason") or "").strip():
            message = (
                _("Say why the measurement is rejected.")
                if data.get("decision") == self.REJECT
                else _("Say what the reporter should revise.")
            )
            self.add_error("rejection_reason", message)
        return data


class SupersedeForm(PageFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Why the verified value is corrected"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    value = forms.DecimalField(
        label=_("Corrected value"), max_digits=20, decimal_places=4, required=False
    )
    numerator = forms.DecimalField(
        label=_("Numerator"), max_digits=20, decimal_places=4, required=False
    )
    denominator = forms.DecimalField(
        label=_("Denominator"), max_digits=20, decimal_places=4, required=False
    )

    def changes(self):
        return {
            name: self.cleaned_data[name]
            for name in ("value", "numerator", "denominator")
            if self.cleaned_data.get(name) is not None
        }


class CommentForm(PageFormMixin, forms.Form):
    text = forms.CharField(
        label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class EvidenceForm(PageFormMixin, forms.Form):
    file = forms.FileField(
        label=_("Evidence file"),
        help_text=_("PDF, image (PNG, JPEG), spreadsheet (.xlsx, .csv) or document (.docx)."),
    )


class EvaluationForm(PageFormMixin, forms.ModelForm):
    class Meta:
        model = Evaluation
        fields = [
            "kind",
            "evaluator",
            "completed_on",
            *DAC_CRITERIA,
            "summary",
            "findings",
            "participants",
            "participation_method",
            "report",
            "report_is_public",
        ]
        labels = {
            "kind": _("Kind of evaluation"),
            "evaluator": _("Evaluating organisation"),
            "completed_on": _("Completed on"),
            "relevance": _("Relevance"),
            "coherence": _("Coherence"),
            "effectiveness": _("Effectiveness"),
            "efficiency": _("Efficiency"),
            "impact": _("Impact"),
            "sustainability": _("Sustainability"),
            "summary": _("Summary"),
            "findings": _("Findings"),
            "participants": _("Who took part (participatory evaluations)"),
            "participation_method": _("How they took part"),
            "report": _("Report (PDF or Word)"),
            "report_is_public": _("The report may be published"),
        }
        help_texts = {
            "completed_on": _("Leave empty while the evaluation is under way."),
            "report": _("If the form comes back with an error, choose the file again."),
            "report_is_public": _(
                "Links the report from the portfolio's IATI file, where anyone can read it."
            ),
        }
        widgets = {
            "completed_on": date_input(),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "findings": forms.Textarea(attrs={"rows": 5}),
            "participants": forms.Textarea(attrs={"rows": 2}),
            "participation_method": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].queryset = Organisation.objects.filter(is_evaluator=True)


class RecommendationForm(PageFormMixin, forms.ModelForm):
    class Meta:
        model = Recommendation
        fields = [
            "text",
            "owner",
            "owner_organisation",
            "due_on",
            "status",
            "response",
            "response_text",
        ]
        labels = {
            "text": _("Recommendation"),
            "owner": _("Who follows it up"),
            "owner_organisation": _("Owner organisation"),
            "due_on": _("Due on"),
            "status": _("Follow-up status"),
            "response": _("Management response"),
            "response_text": _("What management will do, or why not"),
        }
        widgets = {
            "text": forms.Textarea(attrs={"rows": 2}),
            "due_on": date_input(),
            "response_text": forms.Textarea(attrs={"rows": 2}),
        }


class FollowUpForm(PageFormMixin, forms.Form):
    text = forms.CharField(
        label=_("What was done"), max_length=TEXT_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    status = forms.ChoiceField(label=_("Follow-up status"), choices=FollowUp.choices)


RecommendationFormSet = inlineformset_factory(
    Evaluation, Recommendation, form=RecommendationForm, extra=2, can_delete=False
)
