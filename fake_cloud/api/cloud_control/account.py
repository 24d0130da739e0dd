"""The account page on the "my" front end: `/user_settings.html` shows the Cloud Control
`auth_key` and server URI, as the app's "User settings -> Authorization cloud key" does ("The
server uri can be obtained on the same page where the authorization key is generated",
Cloud Control "Getting Started"). A plain login form, like the other pages (pages.py).
"""

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session

from fake_cloud.api.auth import AuthError
from fake_cloud.api.context import Services

__all__ = ["account_page"]

TITLE = "User settings"

account_page = Blueprint(
    "cloud_control_account",
    __name__,
    template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
)


@account_page.route("/user_settings.html", methods=["GET", "POST"])
def user_settings() -> Any:
    services: Services = current_app.config["SERVICES"]
    action = request.full_path
    op = request.form.get("op")
    if op == "login":
        try:
            user = services.authority.login(
                request.form.get("email", ""), request.form.get("password", "")
            )
        except AuthError as exc:
            return render_template("login.html", title=TITLE, action=action, problem=str(exc)), 401
        session["user"] = user.id
        return redirect(action, 303)
    if op == "logout":
        session.pop("user", None)
        return redirect(action, 303)
    user = services.backend.users.get(session.get("user", -1))
    if user is None:
        return render_template("login.html", title=TITLE, action=action, intro="Log in first.")
    server_uri = services.backend.server(user.server).api_url
    return render_template(
        "account.html", title=TITLE, action=action, user=user, server_uri=server_uri
    )
