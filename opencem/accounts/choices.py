from __future__ import annotations

from django.db import models


class UnitKind(models.TextChoices):
    COMPANY = "company", "Company"
    REGION = "region", "Region"
    STORE = "store", "Store"
    TEAM = "team", "Team"
    CHANNEL = "channel", "Channel"
    DEPARTMENT = "department", "Department"


class Role(models.TextChoices):
    """What a member may do inside the subtree of their unit."""

    ADMIN = "admin", "Administrator"
    ANALYST = "analyst", "Analyst"
    EXECUTIVE = "executive", "Executive"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent"
    VIEWER = "viewer", "Viewer"


# Roles allowed to push customers and interactions (API, import).
WRITE_ROLES = frozenset({Role.ADMIN, Role.ANALYST, Role.MANAGER, Role.AGENT})
# Roles allowed to design surveys, journeys and alert rules for the units they cover.
DESIGN_ROLES = frozenset({Role.ADMIN, Role.ANALYST})
# Roles allowed to manage units, users and everyone's API keys.
ADMIN_ROLES = frozenset({Role.ADMIN})
# Roles allowed to read customer text as written, personal data included: admins (who own the
# data) and agents (who contact the customer). Everyone else reads the redacted text.
PII_ROLES = frozenset({Role.ADMIN, Role.AGENT})
