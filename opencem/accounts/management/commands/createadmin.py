"""``opencem createadmin``: a user with the admin role over the whole organisation."""

from __future__ import annotations

import getpass
import os
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from opencem.accounts.choices import Role, UnitKind
from opencem.accounts.selectors import unit_root
from opencem.accounts.services import membership_grant, unit_create, user_create
from opencem.core.errors import ApplicationError


class Command(BaseCommand):
    help = ("Create a user with the admin role over the whole organisation (creating the "
            "company unit first if there is none). The password is asked for, or read from "
            "OPENCEM_ADMIN_PASSWORD with --no-input.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--company", default="Company", help="name of a new company unit")
        parser.add_argument("--company-code", default="COMPANY")
        parser.add_argument("--no-input", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["no_input"]:
            password = os.environ.get("OPENCEM_ADMIN_PASSWORD", "")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        try:
            with transaction.atomic():
                root = unit_root() or unit_create(code=options["company_code"],
                                                  name=options["company"],
                                                  kind=UnitKind.COMPANY)
                user = user_create(username=options["username"], email=options["email"],
                                   password=password)
                membership_grant(user=user, unit=root, role=Role.ADMIN)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{user.username} is now admin of {root.name} ({root.code}).")
