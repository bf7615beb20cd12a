"""Server-side validated forms for the settings pages.

Every unit a form offers comes from the administrator's own scope: a POST naming a unit outside
it fails validation like any other bad choice, so the scope rule cannot be skipped by editing
the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.db.models import QuerySet

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.models import Unit
from opencem.accounts.selectors import owner_candidates
from opencem.core.errors import ApplicationError

_INDENT = "\u2014 "


if TYPE_CHECKING:
    # The stubs make the field generic; at run time Django's class is not subscriptable.
    _UnitChoiceBase = forms.ModelChoiceField[Unit]
else:
    _UnitChoiceBase = forms.ModelChoiceField


class UnitChoiceField(_UnitChoiceBase):
    """A unit picker that shows the tree by indenting each unit by its depth."""

    def label_from_instance(self, obj: Unit) -> str:
        return f"{_INDENT * obj.depth}{obj.name} ({obj.code})"


def apply_service_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal on the form: on the field it names, else above the form."""
    placed = False
    for error in exc.errors:
        name = str(error.loc[-1]) if error.loc else ""
        if name in form.fields:
            form.add_error(name, error.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


class SettingsForm(forms.Form):
    """Base of the settings forms: labels without Django's trailing colon, which screen
    readers read out and the page's other labels do not have."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ApiKeyForm(SettingsForm):
    """Name a new API key."""

    name = forms.CharField(max_length=100, strip=True,
                           help_text="What the key is for, e.g. \u201cCRM sync\u201d.")


class UnitCreateForm(SettingsForm):
    """A new unit under a parent the administrator manages."""

    parent = UnitChoiceField(queryset=Unit.objects.none(), label="Parent unit",
                             empty_label="Choose a unit\u2026")
    code = forms.CharField(max_length=64, help_text="Stable id integrators use, e.g. STORE-042.")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=UnitKind.choices, initial=UnitKind.STORE)

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = units  # type: ignore[attr-defined]


class UnitEditForm(SettingsForm):
    """Rename a unit, change its kind or move it under another parent."""

    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=UnitKind.choices)
    parent = UnitChoiceField(queryset=Unit.objects.none(), label="Parent unit")
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Owner", empty_label="Nobody",
        help_text="Cases about this unit's customers go to the owner; without one, to its "
                  "first manager, else up the tree.")

    def __init__(self, *args: Any, unit: Unit, units: QuerySet[Unit], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"name": unit.name, "kind": unit.kind,
                                      "parent": unit.parent_id, "owner": unit.owner_id})
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = owner_candidates(unit)
        if unit.parent_id is None:
            # The company root has no parent and keeps none.
            del self.fields["parent"]
            return
        # Never under itself or its own descendants. The current parent stays offered even
        # when it lies outside the scope (the top of a subtree admin's tree), so that the
        # unit can be renamed without being moved.
        allowed = units.exclude(path__startswith=unit.path)
        self.fields["parent"].queryset = (  # type: ignore[attr-defined]
            Unit.objects.filter(pk__in=allowed.values("pk")) | Unit.objects.filter(
                pk=unit.parent_id)).order_by("path")


def _validate_new_password(form: forms.Form, password: str, username: str, email: str) -> None:
    # An unsaved user, so the similarity check compares against what was typed.
    try:
        validate_password(password, user=User(username=username, email=email))
    except forms.ValidationError as exc:
        form.add_error("password", exc)


class UserCreateForm(SettingsForm):
    """A new sign-in account with its first membership.

    Without a password an email address is required: the user is sent a link to set one.
    """

    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to email the user a link to choose their own.")
    unit = UnitChoiceField(queryset=Unit.objects.none(), empty_label="Choose a unit\u2026")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["password"].widget.attrs["autocomplete"] = "new-password"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password = data.get("password") or ""
        email = data.get("email") or ""
        if password:
            _validate_new_password(self, password, data.get("username") or "", email)
        elif not email and "email" not in self.errors:
            self.add_error("email", "Give an email address, or a password: without a password "
                                    "the user is emailed a link to set one.")
        return data


class MembershipForm(SettingsForm):
    """Grant a role on a unit the administrator manages."""

    unit = UnitChoiceField(queryset=Unit.objects.none(), empty_label="Choose a unit\u2026")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
