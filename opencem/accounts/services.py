"""Writes to the organisation: units, users, memberships and API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from opencem.accounts import selectors
from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.models import ApiKey, Membership, Unit
from opencem.core.errors import ApplicationError, invalid

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_PREFIX = "ocm"


def _check_code(code: str) -> str:
    code = code.strip()
    if not _CODE_RE.match(code):
        raise invalid(["code"], "must be 1-64 letters, digits, '.', '_' or '-'")
    return code


@transaction.atomic
def unit_create(*, code: str, name: str, kind: str = UnitKind.STORE,
                parent: Unit | None = None) -> Unit:
    """Create a unit under ``parent`` (a root unit when ``parent`` is None)."""
    code = _check_code(code)
    if not name.strip():
        raise invalid(["name"], "must not be empty")
    if kind not in UnitKind.values:
        raise invalid(["kind"], f"must be one of {', '.join(UnitKind.values)}")
    if Unit.objects.filter(code=code).exists():
        raise invalid(["code"], f"a unit with code {code!r} already exists")
    unit = Unit.objects.create(code=code, name=name.strip(), kind=kind, parent=parent)
    unit.path = f"{parent.path if parent else '/'}{unit.pk}/"
    unit.depth = parent.depth + 1 if parent else 0
    unit.save(update_fields=["path", "depth"])
    return unit


def unit_owner_set(*, unit: Unit, owner: User | None) -> Unit:
    """Name the person responsible for ``unit`` (cases about its customers go to them), or
    nobody: then its first manager, or the next unit up, answers for it."""
    if owner is not None and not selectors.owner_candidates(unit).filter(pk=owner.pk).exists():
        raise invalid(["owner"], f"{owner.get_username()!r} has no role on {unit.code} or a "
                                 "unit above it")
    unit.owner = owner
    unit.save(update_fields=["owner", "updated_at"])
    return unit


@transaction.atomic
def unit_update(*, unit: Unit, name: str, kind: str, parent: Unit | None) -> Unit:
    """Rename a unit or move it (with its whole subtree) under another parent."""
    if not name.strip():
        raise invalid(["name"], "must not be empty")
    if kind not in UnitKind.values:
        raise invalid(["kind"], f"must be one of {', '.join(UnitKind.values)}")
    if (parent is None) != (unit.parent_id is None):
        raise invalid(["parent"], "the company root stays the root; other units need a parent")
    if parent is not None and parent.path.startswith(unit.path):
        raise invalid(["parent"], "a unit cannot move under itself or its own descendants")
    unit.name, unit.kind = name.strip(), kind
    if parent is not None and parent.pk != unit.parent_id:
        old_path, old_depth = unit.path, unit.depth
        new_path = f"{parent.path}{unit.pk}/"
        depth_shift = parent.depth + 1 - old_depth
        Unit.objects.filter(path__startswith=old_path).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=F("depth") + depth_shift,
        )
        unit.refresh_from_db(fields=["path", "depth"])
        unit.parent = parent
    unit.save(update_fields=["name", "kind", "parent", "updated_at"])
    return unit


def user_create(*, username: str, email: str = "", password: str | None = None,
                first_name: str = "", last_name: str = "") -> User:
    """Create a sign-in account. Without a password the user sets one by password reset."""
    username = username.strip()
    if not username:
        raise invalid(["username"], "must not be empty")
    if User.objects.filter(username__iexact=username).exists():
        raise invalid(["username"], f"{username!r} is taken")
    return User.objects.create_user(username=username, email=email.strip().lower(),
                                    password=password, first_name=first_name,
                                    last_name=last_name)


def membership_grant(*, user: User, unit: Unit, role: str) -> Membership:
    """Give ``user`` a ``role`` over ``unit`` and its subtree (idempotent)."""
    if role not in Role.values:
        raise invalid(["role"], f"must be one of {', '.join(Role.values)}")
    membership, _ = Membership.objects.get_or_create(user=user, unit=unit, role=role)
    return membership


def membership_revoke(*, membership: Membership) -> None:
    membership.delete()


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def apikey_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key for ``user``; the raw key is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise invalid(["name"], "must be 1 to 100 characters")
    if not user.is_active:
        raise ApplicationError("Inactive users cannot hold API keys.")
    for _ in range(5):
        prefix = secrets.token_hex(6)
        raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(user=user, name=name, prefix=prefix,
                                            key_hash=_hash_key(raw))
        except IntegrityError:
            continue
        return key, raw
    raise ApplicationError("Could not allocate a unique key prefix; try again.", status=503)


def apikey_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def apikey_authenticate(raw: str) -> User | None:
    """The active user behind a raw key, or None. Constant-time comparison of the hash."""
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != KEY_PREFIX:
        return None
    key = (ApiKey.objects.select_related("user")
           .filter(prefix=parts[1], revoked_at__isnull=True).first())
    if key is None or not hmac.compare_digest(key.key_hash, _hash_key(raw)):
        return None
    if not key.user.is_active:
        return None
    now = timezone.now()
    # Writing on every request would serialise API traffic on one row; once a minute is enough.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user


@transaction.atomic
def user_onboard(*, username: str, email: str, password: str | None, unit: Unit,
                 role: str) -> User:
    """Create a user together with their first membership, all or nothing.

    A user without any membership would be invisible to an administrator of a subtree, so the
    admin pages always create the two together.
    """
    user = user_create(username=username, email=email, password=password or None)
    membership_grant(user=user, unit=unit, role=role)
    return user


def user_send_password_setup(*, user: User, domain: str, use_https: bool) -> None:
    """Email ``user`` the standard password-reset link so they choose their own password.

    Django's reset form skips users whose password is unusable (exactly the users created
    without one), so the message is built here from the same templates and token generator
    that the reset pages check.
    """
    if not user.email:
        raise invalid(["email"], "is needed to send a link for setting a password")
    context = {
        "email": user.email, "domain": domain, "site_name": settings.SITE_NAME,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)), "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if use_https else "http",
    }
    PasswordResetForm().send_mail(
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.html",
        context=context, from_email=None, to_email=user.email)


def user_set_active(*, user: User, active: bool) -> User:
    """Deactivate or reactivate a sign-in account.

    Deactivation keeps the user's memberships and keys for the record, but an inactive user
    can neither sign in, keep a session, nor authenticate with an API key.
    """
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
    return user
