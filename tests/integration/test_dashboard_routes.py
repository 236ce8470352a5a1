"""GET /dashboard and its files: public, strict about what the page may load, and told how to sign in."""

from __future__ import annotations

import pytest

from seatkeeper.profiles.model import AUTH_CREDENTIAL_FIELDS


def test_the_page_and_its_files_are_served_without_a_token_under_a_strict_policy(api):
    anyone = api(None)
    page = anyone.get("/dashboard")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'src="dashboard/app.js"' in page.text and page.headers["Cache-Control"] == "no-store"
    policy = page.headers["Content-Security-Policy"]
    # Scripts and styles only from the API's own origin; no inline script, no frames, nothing else.
    for rule in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self';",
        "frame-ancestors 'none'",
    ):
        assert rule in policy, rule
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        answer = anyone.get(f"/dashboard/{name}")
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert anyone.get("/dashboard/secrets.txt").status_code == 404
    assert anyone.get("/dashboard/index.html").status_code == 404  # only as /dashboard
    assert anyone.get("/analytics/overview").status_code == 401  # the figures still need a token


def test_locally_the_page_has_no_hosted_sign_in_and_learns_each_auth_type_s_credential_values(api):
    config = api(None).get("/dashboard/config.json").json()
    assert config["sign_in"] is None  # the local stack has no Cognito: `seatkeeper local` prints a link
    assert config["credential_fields"] == {k: list(v) for k, v in AUTH_CREDENTIAL_FIELDS.items()}


def test_in_aws_the_page_signs_in_at_the_cognito_hosted_ui_and_may_talk_to_it(api_environment):
    from routes import dashboard

    api_environment(
        DASHBOARD_SIGN_IN_URL="https://seatkeeper-123456789012.auth.eu-west-1.amazoncognito.com",
        DASHBOARD_CLIENT_ID="3n4b5urk1ft4fl3mg5e62d9ado",
    )
    assert dashboard.sign_in() == {
        "authorize_url": "https://seatkeeper-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
        "token_url": "https://seatkeeper-123456789012.auth.eu-west-1.amazoncognito.com/oauth2/token",
        "logout_url": "https://seatkeeper-123456789012.auth.eu-west-1.amazoncognito.com/logout",
        "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
    }
    policy = dashboard.page().headers["Content-Security-Policy"]
    assert "connect-src 'self' https://seatkeeper-123456789012.auth.eu-west-1.amazoncognito.com;" in policy
    api_environment(DASHBOARD_SIGN_IN_URL=None, DASHBOARD_CLIENT_ID=None)
    assert dashboard.sign_in() is None


@pytest.mark.parametrize("path", ["/dashboard/..%2Ftemplate.yaml", "/dashboard/app.js%00", "/dashboard/%2e%2e"])
def test_no_other_file_can_be_reached_through_the_dashboard(api, path):
    answer = api(None).get(path)
    # 404 from the dashboard's route, or 401 where the path no longer matches it: never a file.
    assert answer.status_code in (401, 404) and "Resources" not in answer.text


def test_the_openapi_document_has_every_route_and_marks_exactly_the_public_ones(api, stack):
    # Given the routes template.yaml lets through without a JWT
    public = {(r.method.lower(), r.path) for r in stack.template.http_routes() if not r.authorized}
    # When the API describes itself
    document = api(None).get("/openapi.json").json()
    operations = {(method, path): op for path, ops in document["paths"].items() for method, op in ops.items()}
    # Then each public route is there with no security at all, and every other one needs the JWT
    assert document["security"] == [{"jwt": []}]
    assert {key for key, op in operations.items() if op.get("security") == []} == public - {("get", "/openapi.json")}
    assert all("security" not in op for key, op in operations.items() if key not in public)
    assert {("get", "/dashboard"), ("get", "/dashboard/{file}"), ("get", "/oauth/callback")} <= operations.keys()
    assert "text/html" in operations[("get", "/dashboard")]["responses"]["200"]["content"]


def test_the_sign_in_page_s_advice_is_a_command_that_works(api):
    # Given the page's sign-in text for a stack without a hosted UI
    script = api(None).get("/dashboard/app.js").text
    # Then the token command it shows is the one `seatkeeper token` takes
    assert 'h("code", {}, "seatkeeper token --role admin")' in script
    assert "seatkeeper token admin" not in script
