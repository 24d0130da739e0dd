"""The login form every "my" page shares: a session cookie holds the user, `op=login` and
`op=logout` posts change it, and a page without a user shows the form."""

from typing import Any

from flask import redirect, render_template, request, session

from fake_cloud.api.auth import AuthError
from fake_cloud.api.context import Services
from fake_cloud.state.backend import User

__all__ = ["logged_in_user"]


def logged_in_user(services: Services, title: str) -> User | Any:
    """The page's user, or the answer to give instead (login/logout redirect, the form)."""
    action = request.full_path
    op = request.form.get("op")
    if op == "login":
        try:
            user = services.authority.login(
                request.form.get("email", ""), request.form.get("password", "")
            )
        except AuthError as exc:
            return render_template("login.html", title=title, action=action, problem=str(exc)), 401
        session["user"] = user.id
        return redirect(action, 303)
    if op == "logout":
        session.pop("user", None)
        return redirect(action, 303)
    user = services.backend.users.get(session.get("user", -1))
    if user is None:
        return render_template("login.html", title=title, action=action, intro="Log in first.")
    return user
