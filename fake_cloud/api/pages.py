"""The "my" front end's browser pages: integrator consent and OAuth login, as real HTML forms.

`/integrator.html?itg=<TAG>&cb=<URL>` (seed 000, INT-USERS): the user logs in, ticks devices
and picks read-only ("00") or control ("01"); saving fires one callback per changed device.
`/oauth_login.html?client_id=&state=&redirect_uri=` (seed 002): the user logs in and the browser
is redirected to `redirect_uri` with `code` and `state`. The real pages hash and post with
JavaScript; these post plain forms, which is what a test (or a person) can drive.
"""

from typing import Any

from flask import Blueprint, redirect, render_template, request

from fake_cloud.api.auth import AuthError
from fake_cloud.api.login import logged_in_user
from fake_cloud.api.rest import services
from fake_cloud.state.backend import Access, StateError, User

__all__ = ["pages"]

pages = Blueprint("pages", __name__, template_folder="templates")


def _message(title: str, message: str, status: int, results: Any = None) -> Any:
    return render_template("message.html", title=title, message=message, results=results), status


@pages.route("/integrator.html", methods=["GET", "POST"])
def integrator_consent() -> Any:
    s = services()
    tag, cb = request.args.get("itg", ""), request.args.get("cb", "")
    if tag not in s.backend.integrators:
        return _message("Share devices", "Unknown integrator.", 404)
    if not cb:
        return _message("Share devices", "The cb (callback URL) parameter is missing.", 400)
    title = f"Share devices with {tag}"
    user = logged_in_user(s, title)
    if not isinstance(user, User):
        return user
    action = request.full_path
    op = request.form.get("op")
    if op == "save":
        chosen = request.form.getlist("device")
        selection = {d: request.form.get(f"access_{d}", Access.READ_ONLY) for d in chosen}
        try:
            results = s.consent.save(tag, user.id, selection, cb)
        except StateError as exc:
            return _message(title, str(exc), 400)
        return _message(title, "Saved.", 200, results)
    with s.backend.lock:
        rows = [
            {
                "id": d.id,
                "name": d.name or d.code,
                "code": d.code,
                "access": (g.access if (g := s.backend.grant(tag, d.id)) else None),
            }
            for d in s.backend.devices_of(user.id)
        ]
    return render_template(
        "consent.html", title=title, action=action, user=user, tag=tag, rows=rows
    )


@pages.route("/oauth_login.html", methods=["GET", "POST"])
def oauth_login_page() -> Any:
    s = services()
    client_id = request.args.get("client_id", "")
    redirect_uri = request.args.get("redirect_uri", "")
    title = "Shelly Cloud login"
    try:
        s.authority.check_client(client_id, redirect_uri)
    except AuthError as exc:
        return _message(title, str(exc), 400)
    action = request.full_path
    if request.method == "GET":
        return render_template("login.html", title=title, action=action)
    try:
        target = s.authority.authorize(
            client_id,
            redirect_uri,
            request.args.get("state"),
            request.form.get("email", ""),
            request.form.get("password", ""),
        )
    except AuthError as exc:
        return render_template("login.html", title=title, action=action, problem=str(exc)), 401
    return redirect(target, 302)
