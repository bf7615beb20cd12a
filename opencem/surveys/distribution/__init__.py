"""Distribution: ask the right customer at the right touchpoint, without fatiguing them.

Triggers (``triggers``) turn new interactions into invitations; contact rules
(``contact_rules``) and unsubscribes (``unsubscribe``) decide which of those may go out (a
refused one is stored as ``suppressed`` with its reason, so fatigue rules can be audited);
``sending`` mails due invitations and reminders, and sends by hand; ``personal_links`` hands
invitations out as a CSV for another channel. Every invitation is made in ``inviting``.

This module is the app's way in: the API, pages, tasks and hooks use the names below.
"""

from __future__ import annotations

from opencem.surveys.distribution.common import SYSTEM_SCOPE
from opencem.surveys.distribution.contact_rules import (
    ContactRuleInput,
    contact_rule_create,
    contact_rule_delete,
    contact_rule_for,
    contact_rule_get,
    contact_rule_update,
    contact_rules_list,
    suppression_reason,
)
from opencem.surveys.distribution.inviting import invitation_list
from opencem.surveys.distribution.merge import customer_merge_move
from opencem.surveys.distribution.personal_links import (
    MAX_PERSONAL_LINKS,
    PERSONAL_LINK_COLUMNS,
    PersonalLink,
    personal_links_create,
)
from opencem.surveys.distribution.sending import (
    MAX_SEND_ATTEMPTS,
    MAX_SEND_NOW,
    invitation_send,
    invitation_send_now,
    invitations_expire,
    invitations_send_due,
    invitations_send_now,
    reminders_send,
    survey_link,
)
from opencem.surveys.distribution.triggers import (
    TriggerInput,
    sampled,
    trigger_create,
    trigger_delete,
    trigger_get,
    trigger_update,
    triggers_evaluate,
    triggers_of,
    triggers_sweep,
)
from opencem.surveys.distribution.unsubscribe import (
    unsubscribe_create,
    unsubscribe_parse,
    unsubscribe_survey_name,
    unsubscribe_token,
    unsubscribe_url,
)

__all__ = [
    "MAX_PERSONAL_LINKS",
    "MAX_SEND_ATTEMPTS",
    "MAX_SEND_NOW",
    "PERSONAL_LINK_COLUMNS",
    "SYSTEM_SCOPE",
    "ContactRuleInput",
    "PersonalLink",
    "TriggerInput",
    "contact_rule_create",
    "contact_rule_delete",
    "contact_rule_for",
    "contact_rule_get",
    "contact_rule_update",
    "contact_rules_list",
    "customer_merge_move",
    "invitation_list",
    "invitation_send",
    "invitation_send_now",
    "invitations_expire",
    "invitations_send_due",
    "invitations_send_now",
    "personal_links_create",
    "reminders_send",
    "sampled",
    "suppression_reason",
    "survey_link",
    "trigger_create",
    "trigger_delete",
    "trigger_get",
    "trigger_update",
    "triggers_evaluate",
    "triggers_of",
    "triggers_sweep",
    "unsubscribe_create",
    "unsubscribe_parse",
    "unsubscribe_survey_name",
    "unsubscribe_token",
    "unsubscribe_url",
]
