"""The account page on the "my" front end: `/user_settings.html` shows the Cloud Control
`auth_key` and server URI, as the app's "User settings -> Authorization cloud key" does ("The
server uri can be obtained on the same page where the authorization key is generated",
Cloud Control "Getting Started"). A plain login form, like the other pages (pages.py).
"""

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, render_template, request

from fake_cloud.api.context import Services
from fake_cloud.api.login import logged_in_user
from fake_cloud.state.backend import User

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
    user = logged_in_user(services, TITLE)
    if not isinstance(user, User):
        return user
    action = request.full_path
    server_uri = services.backend.server(user.server).api_url
    return render_template(
        "account.html", title=TITLE, action=action, user=user, server_uri=server_uri
    )
