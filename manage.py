#!/usr/bin/env python
"""Django's manage.py, for those who expect it; ``opencem manage`` does the same."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opencem.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
