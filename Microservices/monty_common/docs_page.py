"""The docs pages (Swagger UI and the OpenAPI document): nothing inline, and the browser told so.

flask-openapi3-swagger's page starts Swagger UI from an inline script, which a Content-Security-Policy
can allow only with 'unsafe-inline'. Here the page loads that start-up code as a file of its own, so
the policy allows scripts from the service's origin and nothing else.
"""

from flask import Flask, Response, request

DOCS_PREFIX = "/openapi"
INITIALIZER_URL = f"{DOCS_PREFIX}/swagger-initializer.js"
STYLESHEET_URL = f"{DOCS_PREFIX}/swagger-page.css"

# What Swagger UI needs from its own origin: its scripts and styles, the document and "Try it out"
# requests (connect-src), and the data: images its stylesheet embeds. Nothing may frame the page.
# The one inline style allowed, by its hash, is the <style> inside the Swagger logo of the top bar
# (swagger-ui-bundle.js of the pinned flask-openapi3-swagger; the browser tests fail if it changes).
SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        f"style-src 'self' {SWAGGER_LOGO_STYLE}",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

# flask-openapi3-swagger's page (rendered with doc_url and swagger_config), its inline parts moved out.
SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="UTF-8">
    <title>Swagger UI</title>
    <link rel="shortcut icon" href="swagger/images/swagger.svg">
    <link rel="stylesheet" type="text/css" href="swagger/css/swagger-ui.css">
    <link rel="stylesheet" type="text/css" href="swagger-page.css">
</head>
<body>
<div id="swagger-ui"
     data-url="{{ doc_url }}"
     data-config="{{ swagger_config|default({})|tojson|forceescape }}"></div>
<script src="swagger/js/swagger-ui-bundle.js"></script>
<script src="swagger/js/swagger-ui-standalone-preset.js"></script>
<script src="swagger-initializer.js"></script>
</body>
</html>
"""

# flask-openapi3's index of the docs pages (rendered with ui_templates), without its inline styles.
DOCS_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="UTF-8">
    <title>API documentation</title>
</head>
<body>
<ul>
{%- for ui in ui_templates %}
    <li><a href="{{ ui.name }}">{{ ui.display_name }}</a></li>
{%- endfor %}
    <li><a href="openapi.json">OpenAPI document</a></li>
</ul>
</body>
</html>
"""

SWAGGER_INITIALIZER = """window.addEventListener("load", function () {
    const element = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
        url: new URL(element.dataset.url, window.location.href).href,
        dom_id: "#swagger-ui",
        deepLinking: true,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        layout: "StandaloneLayout",
        showExtensions: true,
        showCommonExtensions: true,
        ...JSON.parse(element.dataset.config),
    });
});
"""

SWAGGER_PAGE_STYLE = """html { box-sizing: border-box; overflow-y: scroll; }
*, *:before, *:after { box-sizing: inherit; }
body { margin: 0; background: #fafafa; }
"""


def register_docs_page(app: Flask) -> None:
    """Serve Swagger UI without inline code, and send the security headers with every docs answer."""
    app.config["SWAGGER_HTML_STRING"] = SWAGGER_PAGE
    app.config["OPENAPI_HTML_STRING"] = DOCS_INDEX
    app.add_url_rule(
        INITIALIZER_URL,
        "swagger_initializer",
        lambda: Response(SWAGGER_INITIALIZER, mimetype="text/javascript"),
    )
    app.add_url_rule(
        STYLESHEET_URL, "swagger_page_style", lambda: Response(SWAGGER_PAGE_STYLE, mimetype="text/css")
    )
    app.after_request(_guard_docs_answer)


def _guard_docs_answer(response: Response) -> Response:
    """Add the security headers to an answer under the docs prefix."""
    if request.path == DOCS_PREFIX or request.path.startswith(DOCS_PREFIX + "/"):
        response.headers.update(SECURITY_HEADERS)
    return response
