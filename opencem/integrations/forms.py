"""The webhook endpoint form."""

from __future__ import annotations

from django import forms

from opencem.integrations.services import TOPICS, EndpointInput


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=200)
    url = forms.CharField(max_length=2000, label="URL",
                          help_text="A public http(s) address; private, loopback and metadata "
                                    "addresses are refused.")
    topics = forms.MultipleChoiceField(choices=[(t, t) for t in TOPICS],
                                       widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False, initial=True)

    def to_input(self) -> EndpointInput:
        d = self.cleaned_data
        return EndpointInput(name=d["name"], url=d["url"], topics=list(d["topics"]),
                             active=d["active"])
