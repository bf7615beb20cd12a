from __future__ import annotations

from django.db import models


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CRM_ID = "crm_id", "CRM id"
    LOYALTY_ID = "loyalty_id", "Loyalty card"
    ACCOUNT_ID = "account_id", "Web/app account"
    SOCIAL_HANDLE = "social_handle", "Social handle"
    DEVICE_ID = "device_id", "Device id"


class Channel(models.TextChoices):
    STORE = "store", "Store"
    CALL_CENTRE = "call_centre", "Call centre"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    APP = "app", "App"
    DELIVERY = "delivery", "Delivery"
    SALES_VISIT = "sales_visit", "Sales visit"
    SOCIAL = "social", "Social media"
    CAMPAIGN = "campaign", "Marketing campaign"
    OTHER = "other", "Other"
