"""``opencem apikey create --user <username>``: print a new API key (shown once)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from opencem.accounts.selectors import apikeys_of
from opencem.accounts.services import apikey_create, apikey_revoke
from opencem.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create, list or revoke API keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("--user", required=True, help="username the key acts as")
        parser.add_argument("--name", default="command line", help="what the key is for")
        parser.add_argument("--prefix", help="with revoke: the key's prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()  # noqa: N806
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        if options["action"] == "create":
            try:
                _, raw = apikey_create(user=user, name=options["name"])
            except ApplicationError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(raw)
        elif options["action"] == "list":
            for key in apikeys_of(user.pk):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}\t{key.name}\t{state}\t{key.created_at:%Y-%m-%d}")
        else:
            found = apikeys_of(user.pk).filter(prefix=options["prefix"] or "").first()
            if found is None:
                raise CommandError("Give --prefix of one of this user's keys (see 'list').")
            apikey_revoke(key=found)
            self.stdout.write(f"revoked {found.prefix}")
