"""The Content-Security-Policy header of every response (Django 5.2 has none built in).

Pages load scripts and styles only from this site's own static files: no inline
<script>, no style="" attribute, nothing from elsewhere. What a page needs sized at run
time travels in data attributes (portfolio/static/portfolio/sizes.js).
"""

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# The API's Swagger UI (drf-spectacular's page, served split so its script is a file of
# ours): the page's template carries a <style> block of its own, and Swagger UI's CSS draws
# its icons as data: images. Its scripts stay 'self' only.
DOCS_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + (
    "; img-src 'self' data:"
)
RELAXED = {"api-docs": DOCS_POLICY}


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            match = getattr(request, "resolver_match", None)
            name = match.url_name if match else None
            response["Content-Security-Policy"] = RELAXED.get(name, POLICY)
        return response
