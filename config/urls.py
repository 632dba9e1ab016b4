"""URL routes: pages under /, the REST API under /api/v1/, the admin under /admin/."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portfolio import views as portfolio_views
from reporting import views as reporting_views

from . import health


class FaviconView(RedirectView):
    permanent = True

    def get_redirect_url(self, *args, **kwargs):
        return static("portfolio/favicon.svg")


urlpatterns = [
    path("", reporting_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; they get the site's icon.
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("accounts/login/", portfolio_views.LoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("reporting.api")),
    path("api/v1/", include("reporting.api_iati")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("projects.urls")),
    path("", include("funding.urls")),
    path("", include("evaluations.urls")),
    path("rates/", portfolio_views.rates, name="rates"),
    path("rates/<int:pk>/", portfolio_views.rate_edit, name="rate-edit"),
    path("exports/", reporting_views.export, name="export"),
    path("exports/<uuid:pk>/", reporting_views.export_status, name="export-status"),
    path("exports/<uuid:pk>/progress/", reporting_views.export_progress, name="export-progress"),
    path("exports/<uuid:pk>/download/", reporting_views.export_download, name="export-download"),
    path("i18n/", include("django.conf.urls.i18n")),
]
