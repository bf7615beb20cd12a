"""Sign-in pages (rate limited) and the organisation's admin pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from opencem.accounts import selectors, services
from opencem.accounts.forms import (
    ApiKeyForm,
    MembershipForm,
    UnitCreateForm,
    UnitEditForm,
    UserCreateForm,
    apply_service_error,
)
from opencem.accounts.models import ApiKey, Membership, Unit
from opencem.accounts.selectors import request_scope
from opencem.core.errors import ApplicationError
from opencem.core.htmx import HtmxHttpRequest, is_partial
from opencem.core.ratelimit import client_ip, hit


def _rate_limited(request: HttpRequest, bucket: str) -> HttpResponse | None:
    if request.method != "POST":
        return None
    decision = hit(f"{bucket}:{client_ip(request)}", limit=settings.OPENCEM_PUBLIC_RATE_LIMIT)
    if decision.allowed:
        return None
    response = HttpResponse("Too many attempts. Wait a minute and try again.", status=429,
                            content_type="text/plain")
    response["Retry-After"] = str(decision.retry_after)
    return response


class RateLimitedLoginView(auth_views.LoginView):
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return _rate_limited(request, "login") or super().dispatch(request, *args, **kwargs)


class RateLimitedPasswordResetView(auth_views.PasswordResetView):
    """Password reset, rate limited per client; the email names the site as configured rather
    than by the host name the request happened to use."""

    @property
    def extra_email_context(self) -> dict[str, str]:
        return {"site_name": settings.SITE_NAME}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return _rate_limited(request, "reset") or super().dispatch(request, *args, **kwargs)


# --- settings pages -------------------------------------------------------------------------


def _admin_units(request: HttpRequest) -> QuerySet[Unit]:
    """The units the signed-in administrator manages; 403 for everyone else."""
    scope = request_scope(request)
    if not scope.is_admin:
        raise PermissionDenied("Only administrators manage units and users.")
    units = Unit.objects.all()
    if scope.admin_unit_ids is not None:
        units = units.filter(id__in=scope.admin_unit_ids)
    return units.order_by("path")


def _admin_users(request: HttpRequest, units: QuerySet[Unit]) -> QuerySet[User]:
    """Users an administrator manages, with only the memberships inside their scope.

    An administrator of the whole organisation also sees users without any membership (to
    give them one); an administrator of a subtree sees the users holding a role inside it.
    """
    scope = request_scope(request)
    users = User.objects.all()
    if scope.admin_unit_ids is not None:
        users = users.filter(memberships__unit__in=units).distinct()
    inside = Membership.objects.filter(unit__in=units).select_related("unit").order_by(
        "unit__path", "role")
    return users.prefetch_related(Prefetch("memberships", queryset=inside,
                                           to_attr="scoped_memberships")).order_by("username")


def _manages_user(request: HttpRequest, units: QuerySet[Unit], user: User) -> bool:
    """An administrator may switch a user off only when every role they hold is in scope:
    otherwise a store's admin could lock out the company's."""
    if request_scope(request).admin_unit_ids is None:
        return True
    return not Membership.objects.filter(user=user).exclude(unit__in=units).exists()


@login_required
@require_http_methods(["GET", "POST"])
def apikey_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own API keys; POST creates one and shows its secret once."""
    user = _signed_in(request)
    form = ApiKeyForm(request.POST or None)
    raw_key: str | None = None
    new_key: ApiKey | None = None
    if request.method == "POST" and form.is_valid():
        try:
            new_key, raw_key = services.apikey_create(user=user, name=form.cleaned_data["name"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            form = ApiKeyForm()
    response = render(request, "accounts/apikey_list.html", {
        "form": form, "keys": selectors.apikeys_of(user.pk), "raw_key": raw_key,
        "new_key": new_key}, status=422 if form.errors else 200)
    if raw_key:
        # The secret must not linger in any cache or be replayed from history.
        add_never_cache_headers(response)
        response["Cache-Control"] += ", no-store"
    return response


@login_required
@require_POST
def apikey_revoke(request: HtmxHttpRequest, key_id: int) -> HttpResponse:
    """Revoke one of the signed-in user's keys; htmx gets the updated row back."""
    user = _signed_in(request)
    key = get_object_or_404(ApiKey, pk=key_id, user=user)
    services.apikey_revoke(key=key)
    if is_partial(request):
        return render(request, "accounts/partials/apikey_row.html", {"key": key})
    messages.success(request, f"Key \u201c{key.name}\u201d revoked; it no longer works.")
    return redirect("apikey_list")


@login_required
@require_http_methods(["GET", "POST"])
def unit_list(request: HttpRequest) -> HttpResponse:
    """The tree of units the administrator manages, and a form to add one."""
    units = _admin_units(request)
    form = UnitCreateForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            unit = services.unit_create(code=data["code"], name=data["name"], kind=data["kind"],
                                        parent=data["parent"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Unit {unit.name} ({unit.code}) created.")
            return redirect("unit_list")
    tree = list(units.select_related("parent"))
    base_depth = min((u.depth for u in tree), default=0)
    rows = [(u, u.depth - base_depth) for u in tree]
    return render(request, "accounts/unit_list.html", {"rows": rows, "form": form},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, unit_id: int) -> HttpResponse:
    """Rename a unit, change its kind, or move it (with its subtree) under another parent."""
    units = _admin_units(request)
    unit = get_object_or_404(units, pk=unit_id)
    form = UnitEditForm(request.POST or None, unit=unit, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                services.unit_update(unit=unit, name=data["name"], kind=data["kind"],
                                     parent=data.get("parent"))
                services.unit_owner_set(unit=unit, owner=data.get("owner"))
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Unit {unit.name} ({unit.code}) saved.")
            return redirect("unit_list")
    return render(request, "accounts/unit_edit.html", {"unit": unit, "form": form},
                  status=422 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def user_list(request: HttpRequest) -> HttpResponse:
    """Users with a role in the administrator's scope, and a form to create one."""
    units = _admin_units(request)
    form = UserCreateForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_onboard(
                username=data["username"], email=data["email"], password=data["password"],
                unit=data["unit"], role=data["role"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            note = ""
            if not data["password"]:
                try:
                    services.user_send_password_setup(user=user, domain=request.get_host(),
                                                      use_https=request.is_secure())
                except OSError:  # SMTP failures are OSErrors; the user exists regardless
                    messages.error(request, f"The email to {user.email} could not be sent. "
                                   "They can use \u201cForgot your password?\u201d to get "
                                   "a link.")
                else:
                    note = f" A link to set a password was emailed to {user.email}."
            messages.success(request, f"User {user.username} created.{note}")
            return redirect("user_detail", user_id=user.pk)
    return render(request, "accounts/user_list.html", {
        "users": _admin_users(request, units), "form": form},
        status=422 if form.errors else 200)


def _user_page(request: HttpRequest, units: QuerySet[Unit], user_id: int) -> User:
    user: User = get_object_or_404(_admin_users(request, units), pk=user_id)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """One user's roles inside the scope; POST grants another."""
    units = _admin_units(request)
    user = _user_page(request, units, user_id)
    form = MembershipForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_grant(user=user, unit=form.cleaned_data["unit"],
                                      role=form.cleaned_data["role"])
        except ApplicationError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Role granted to {user.username}.")
            return redirect("user_detail", user_id=user.pk)
    return render(request, "accounts/user_detail.html", {
        "person": user, "form": form, "is_self": user.pk == request.user.pk,
        "can_toggle": _manages_user(request, units, user)},
        status=422 if form.errors else 200)


@login_required
@require_POST
def membership_revoke(request: HttpRequest, user_id: int, membership_id: int) -> HttpResponse:
    """Take one role away; never one of your own, so nobody locks themselves out."""
    units = _admin_units(request)
    user = _user_page(request, units, user_id)
    membership = get_object_or_404(Membership, pk=membership_id, user=user, unit__in=units)
    if user.pk == request.user.pk:
        messages.error(request, "You cannot remove your own roles; ask another administrator.")
    else:
        services.membership_revoke(membership=membership)
        messages.success(request, f"Removed {membership.get_role_display()} on "
                                  f"{membership.unit.name} from {user.username}.")
    return redirect("user_detail", user_id=user.pk)


@login_required
@require_POST
def user_set_active(request: HttpRequest, user_id: int) -> HttpResponse:
    """Deactivate or reactivate a user the administrator fully manages."""
    units = _admin_units(request)
    user = _user_page(request, units, user_id)
    active = request.POST.get("active") == "1"
    if user.pk == request.user.pk:
        messages.error(request, "You cannot deactivate yourself.")
    elif not _manages_user(request, units, user):
        raise PermissionDenied("The user holds roles outside your part of the organisation.")
    else:
        services.user_set_active(user=user, active=active)
        messages.success(request, f"{user.username} {'reactivated' if active else 'deactivated'}.")
    return redirect("user_detail", user_id=user.pk)


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # login_required ran first; this narrows the type
        raise PermissionDenied("Sign in first.")
    return user
