"""Routes of the money pages."""

from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:project_pk>/tranches/new/", views.tranche_new, name="tranche-new"),
    path("tranches/<int:pk>/edit/", views.tranche_edit, name="tranche-edit"),
    path("tranches/<int:pk>/disburse/", views.disburse, name="tranche-disburse"),
    path("disbursements/<int:pk>/undo/", views.undo_disbursement, name="disbursement-undo"),
    path("tranches/<int:pk>/loan/", views.loan, name="tranche-loan"),
    path("repayments/<int:pk>/undo/", views.repayment_undo, name="repayment-undo"),
    path("tranches/upload/", views.upload, name="tranche-upload"),
    path("tranches/upload/template/", views.upload_template, name="tranche-template"),
    path("flags/<int:pk>/acknowledge/", views.acknowledge, name="flag-acknowledge"),
]
