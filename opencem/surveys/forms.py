"""Forms of the survey builder: new survey, import, the survey's texts, and one question.

The forms only turn what a person typed into definition JSON; whether the result is a valid
survey is decided by pydantic when the builder saves it through ``survey_save_draft``, and
its refusals are put back on the form by ``apply_definition_error``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.text import slugify

from opencem.accounts.forms import SettingsForm, UnitChoiceField
from opencem.core.errors import ApplicationError
from opencem.surveys.definition import LANG, MAX_TEXT
from opencem.surveys.editing import (
    OPERATORS,
    QUESTION_TYPES,
    error_message,
    format_value,
    is_slug,
)
from opencem.surveys.templates_library import TEMPLATE_LABELS

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from opencem.accounts.models import Unit

MAX_IMPORT_BYTES = 1_000_000
MAX_CONDITIONS = 20
SCALE_TYPES = ("nps", "csat", "ces", "rating")
CHOICE_TYPES = ("single_choice", "multiple_choice")
TEXT_TYPES = ("short_text", "long_text")
_LANG_RE = re.compile(LANG)


def apply_definition_error(form: forms.Form, exc: ApplicationError,
                           fields: dict[tuple[str | int, ...], str] | None = None) -> None:
    """Put a refusal from ``survey_save_draft`` on the form.

    ``fields`` maps the start of an error's location (after ``definition``) to a form field;
    the longest match wins. A match on ``""``, or on a field the form lacks, is shown above
    the form without its location; anything unmatched is shown above the form with it.
    """
    fields = fields or {}
    placed = False
    for error in exc.errors:
        loc = tuple(error.loc[1:] if error.loc[:1] == ("definition",) else error.loc)
        match = max((prefix for prefix in fields if loc[:len(prefix)] == prefix),
                    key=len, default=None)
        if match is not None:
            name = fields[match]
            form.add_error(name if name in form.fields else None, error_message(error))
        else:
            where = ".".join(str(p) for p in loc)
            form.add_error(None, f"{where}: {error_message(error)}" if where
                           else error_message(error))
        placed = True
    if not placed:
        form.add_error(None, exc.message)


# A new survey ------------------------------------------------------------------------------

class SurveyCreateForm(SettingsForm):
    """A new survey: blank, or from one of the ready programmes."""

    name = forms.CharField(max_length=200, help_text="For your colleagues, e.g. "
                           "\u201cStore visit CSAT\u201d. Respondents see the survey's title.")
    unit = UnitChoiceField(queryset=None, label="Owner unit", empty_label="Choose a unit\u2026",
                           help_text="Who may design it: the admins and analysts of this "
                                     "unit and the units above it.")
    start = forms.ChoiceField(label="Start from", initial="blank",
                              choices=[("blank", "A blank survey"), *TEMPLATE_LABELS.items()])

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class SurveyImportForm(SettingsForm):
    """An exported survey document (JSON) to create a new draft survey from."""

    document = forms.FileField(label="Export file (JSON)",
                               help_text="A file made by \u201cExport JSON\u201d, here or in "
                                         "another installation.")
    unit = UnitChoiceField(queryset=None, label="Owner unit", empty_label="Choose a unit\u2026")

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["document"].widget.attrs["accept"] = "application/json,.json"

    def clean_document(self) -> dict[str, Any]:
        upload = self.cleaned_data["document"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the limit is "
                                        f"{MAX_IMPORT_BYTES:,}.")
        try:
            document = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise forms.ValidationError("The file is not JSON: export a survey with "
                                        "\u201cExport JSON\u201d and upload that file.") from exc
        if not isinstance(document, dict):
            raise forms.ValidationError("The file must hold one JSON object.")
        return document


# The survey's own texts ----------------------------------------------------------------------

def _text_field(label: str, *, required: bool = False, long: bool = False,
                max_length: int = 2000) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 3}) if long else forms.TextInput()
    return forms.CharField(label=label, required=required, max_length=max_length,
                           widget=widget)


class SurveyTextsForm(SettingsForm):
    """The name, title, introduction and thank-you message in each language, the default
    language, adding or removing a language, and the branding."""

    name = forms.CharField(max_length=200, help_text="Seen by colleagues only.")

    def __init__(self, *args: Any, definition: dict[str, Any], languages: list[str],
                 name: str, **kwargs: Any) -> None:
        default = str(definition.get("default_language") or "en")
        initial: dict[str, Any] = {"name": name, "default_language": default}
        for key in ("title", "intro", "thank_you"):
            for language, text in (definition.get(key) or {}).items():
                initial[f"{key}_{language}"] = text
        branding = definition.get("branding") or {}
        initial["accent_colour"] = branding.get("accent_colour", "#1f5fbf")
        initial["logo_text"] = branding.get("logo_text", "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.languages = languages
        self.default_language = default
        for language in languages:
            self.fields[f"title_{language}"] = _text_field(
                f"Title ({language})", required=language == default)
            self.fields[f"intro_{language}"] = _text_field(f"Introduction ({language})",
                                                           long=True)
            self.fields[f"thank_you_{language}"] = _text_field(
                f"Thank-you message ({language})", long=True)
        self.fields["default_language"] = forms.ChoiceField(
            choices=[(code, code) for code in languages],
            help_text="Shown when a respondent's language is not offered; every question "
                      "needs its text in it.")
        self.fields["add_language"] = forms.CharField(
            required=False, max_length=10, label="Add a language",
            help_text="A code such as de, fr or pt-BR; give the title in it below.")
        self.fields["add_language_title"] = _text_field("Title in the new language")
        if len(languages) > 1:
            self.fields["remove_language"] = forms.ChoiceField(
                required=False, label="Remove a language",
                choices=[("", "Keep every language"),
                         *[(code, code) for code in languages if code != default]],
                help_text="Removes its texts from the whole survey.")
        self.fields["accent_colour"] = forms.RegexField(
            regex=r"^#[0-9a-fA-F]{6}$", label="Accent colour", max_length=7,
            help_text="As #rrggbb; pale colours are darkened for text automatically.",
            error_messages={"invalid": "Give a colour as # and six hex digits, e.g. #1f5fbf."})
        self.fields["accent_colour"].widget.input_type = "color"
        self.fields["logo_text"] = forms.CharField(required=False, max_length=100,
                                                   label="Name in the header")

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in the sections the page shows them in."""
        per_language = [(f"Texts in {code}" + (" (default)" if code == self.default_language
                                                else ""),
                         [self[f"{key}_{code}"] for key in ("title", "intro", "thank_you")])
                        for code in self.languages]
        languages = [self["default_language"], self["add_language"],
                     self["add_language_title"]]
        if "remove_language" in self.fields:
            languages.append(self["remove_language"])
        return [("Survey", [self["name"]]), *per_language, ("Languages", languages),
                ("Branding", [self["accent_colour"], self["logo_text"]])]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code = (data.get("add_language") or "").strip()
        if code:
            if not _LANG_RE.match(code):
                self.add_error("add_language", "Give a language code such as de, fr or pt-BR.")
            elif code in self.languages:
                self.add_error("add_language", f"The survey already has {code!r}.")
            elif not (data.get("add_language_title") or "").strip():
                self.add_error("add_language_title", "Give the title in the new language.")
        if data.get("remove_language") and data.get("remove_language") == data.get(
                "default_language"):
            self.add_error("remove_language", "The default language cannot be removed.")
        return data

    def apply(self, definition: dict[str, Any]) -> dict[str, Any]:
        """The definition with this form's texts, language and branding."""
        data = self.cleaned_data
        result = dict(definition)
        for key in ("title", "intro", "thank_you"):
            texts = {code: data[f"{key}_{code}"].strip() for code in self.languages
                     if data.get(f"{key}_{code}", "").strip()}
            if texts:
                result[key] = texts
            else:
                result.pop(key, None)
        code = (data.get("add_language") or "").strip()
        if code:
            result["title"] = {**result.get("title", {}), code: data["add_language_title"]}
        result["default_language"] = data["default_language"]
        result["branding"] = {"accent_colour": data["accent_colour"].lower(),
                              "logo_text": data.get("logo_text", "")}
        return result

    @property
    def error_fields(self) -> dict[tuple[str | int, ...], str]:
        fields: dict[tuple[str | int, ...], str] = {("branding", "accent_colour"):
                                                    "accent_colour",
                                                    ("branding", "logo_text"): "logo_text",
                                                    ("default_language",): "default_language"}
        for key in ("title", "intro", "thank_you"):
            for code in self.languages:
                fields[(key, code)] = f"{key}_{code}"
        return fields


# One question ------------------------------------------------------------------------------

def parse_choices(text: str) -> list[tuple[str, str]]:
    """``id: label`` lines (the id optional on a new option) as (id, label) pairs."""
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        head, sep, tail = line.partition(":")
        if sep and is_slug(head.strip()):
            pairs.append((head.strip(), tail.strip()))
        else:
            pairs.append((slugify(line).replace("-", "_")[:40].strip("_"), line))
    return pairs


class QuestionForm(SettingsForm):
    """Add or edit one question of any type: its texts per language, options, scale, the
    required flag and display logic on earlier answers."""

    def __init__(self, *args: Any, kind: str, languages: list[str],
                 earlier: list[dict[str, Any]], question: dict[str, Any] | None = None,
                 taken_ids: set[str] | frozenset[str] = frozenset(), suggested_id: str = "",
                 **kwargs: Any) -> None:
        self.kind = kind
        self.languages = languages
        self.default_language = languages[0]
        self.earlier = {str(q.get("id")): q for q in earlier}
        self.question = question or {"type": kind}
        self.taken_ids = taken_ids
        self.is_new = question is None
        logic = self.question.get("show_if") or {}
        self.condition_count = min(MAX_CONDITIONS, len(logic.get("conditions", [])) + 1) \
            if self.earlier and kind != "hidden" else 0
        kwargs.setdefault("initial", self._initial(suggested_id))
        super().__init__(*args, **kwargs)
        self._build()

    # Fields ---------------------------------------------------------------------------------

    def _build(self) -> None:
        kind, default = self.kind, self.default_language
        if self.is_new:
            self.fields["id"] = forms.CharField(
                max_length=40, label="Question id",
                help_text="Names the answer in exports and the API: lower-case letters, "
                          "digits and _, starting with a letter. It cannot change later.")
        if kind != "hidden":
            for code in self.languages:
                self.fields[f"text_{code}"] = _text_field(
                    f"Question ({code})", required=code == default, long=True)
                self.fields[f"help_{code}"] = _text_field(f"Help text ({code})")
        self.fields["required"] = forms.BooleanField(
            required=False, label="An answer is required" if kind != "hidden"
            else "The link must carry this value")
        if kind in SCALE_TYPES:
            for code in self.languages:
                self.fields[f"low_label_{code}"] = _text_field(f"Label of the lowest point "
                                                               f"({code})")
                self.fields[f"high_label_{code}"] = _text_field(f"Label of the highest point "
                                                                f"({code})")
            self.fields["style"] = forms.ChoiceField(
                choices=[("number", "Numbers"), ("stars", "Stars")], label="Drawn as")
            if kind == "rating":
                self.fields["min"] = forms.IntegerField(min_value=0, max_value=100,
                                                        label="Lowest point")
                self.fields["max"] = forms.IntegerField(min_value=1, max_value=100,
                                                        label="Highest point")
        if kind in CHOICE_TYPES:
            for code in self.languages:
                self.fields[f"choices_{code}"] = forms.CharField(
                    required=code == default, label=f"Options ({code})",
                    widget=forms.Textarea(attrs={"rows": 6}),
                    help_text=("One option a line, as id: label. The id is what answers "
                               "store; leave it out on a new option and one is made from "
                               "the label." if code == default else
                               "id: label lines for the options' ids above."))
            self.fields["allow_other"] = forms.BooleanField(
                required=False, label="Offer \u201cOther\u201d with a text box")
            self.fields["randomize"] = forms.BooleanField(
                required=False, label="Show the options in random order",
                help_text="Each respondent keeps one order.")
            if kind == "multiple_choice":
                self.fields["max_selected"] = forms.IntegerField(
                    required=False, min_value=1, max_value=100, label="At most this many "
                    "answers", help_text="Empty: no limit.")
        if kind in TEXT_TYPES:
            self.fields["max_length"] = forms.IntegerField(
                min_value=1, max_value=MAX_TEXT, label="Longest answer (characters)")
        if self.condition_count:
            self.fields["match"] = forms.ChoiceField(
                required=False, label="Show this question when", choices=[
                    ("all", "all of the conditions hold"), ("any", "any condition holds")])
            questions = [("", "(no condition)"),
                         *[(qid, self._question_label(q)) for qid, q in self.earlier.items()]]
            for i in range(self.condition_count):
                self.fields[f"cond_{i}_question"] = forms.ChoiceField(
                    required=False, choices=questions, label=f"Condition {i + 1}: question")
                self.fields[f"cond_{i}_op"] = forms.ChoiceField(
                    required=False, choices=list(OPERATORS.items()),
                    label=f"Condition {i + 1}: test")
                self.fields[f"cond_{i}_value"] = forms.CharField(
                    required=False, max_length=500, label=f"Condition {i + 1}: value",
                    help_text="A number, an option id, yes/no; for \u201cis one of\u201d a "
                              "comma-separated list.")

    def _question_label(self, question: dict[str, Any]) -> str:
        text = (question.get("text") or {}).get(self.default_language, "")
        kind = QUESTION_TYPES.get(str(question.get("type")), "")
        label = f"{question.get('id')} \u2013 {kind}"
        return f"{label}: {text[:60]}" if text else label

    def _initial(self, suggested_id: str) -> dict[str, Any]:
        question = self.question
        initial: dict[str, Any] = {"id": suggested_id, "required": question.get("required",
                                                                                False),
                                   "style": question.get("style", "number"),
                                   "min": question.get("min", 1),
                                   "max": question.get("max", 5),
                                   "max_length": question.get("max_length", MAX_TEXT),
                                   "allow_other": question.get("allow_other", False),
                                   "randomize": question.get("randomize", False),
                                   "max_selected": question.get("max_selected")}
        for key in ("text", "help", "low_label", "high_label"):
            for code, value in (question.get(key) or {}).items():
                initial[f"{key}_{code}"] = value
        for code in self.languages:
            lines = [f"{c.get('id')}: {(c.get('label') or {}).get(code, '')}"
                     for c in question.get("choices", [])
                     if code == self.default_language or (c.get("label") or {}).get(code)]
            initial[f"choices_{code}"] = "\n".join(lines)
        logic = question.get("show_if") or {}
        initial["match"] = logic.get("match", "all")
        for i, condition in enumerate(logic.get("conditions", [])):
            initial[f"cond_{i}_question"] = condition.get("question", "")
            initial[f"cond_{i}_op"] = condition.get("op", "eq")
            initial[f"cond_{i}_value"] = format_value(condition.get("value"))
        return initial

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The fields in the sections the page shows them in."""
        sections: list[tuple[str, list[forms.BoundField]]] = []
        general = [self["id"]] if self.is_new else []
        sections.append(("Question", [*general, self["required"]]))
        if self.kind != "hidden":
            for code in self.languages:
                names = [f"text_{code}", f"help_{code}", f"low_label_{code}",
                         f"high_label_{code}", f"choices_{code}"]
                title = f"Texts in {code}" + (" (default)" if code == self.default_language
                                               else "")
                sections.append((title, [self[n] for n in names if n in self.fields]))
        settings = [self[n] for n in ("style", "min", "max", "allow_other", "randomize",
                                      "max_selected", "max_length") if n in self.fields]
        if settings:
            sections.append(("Answers", settings))
        return sections

    def condition_rows(self) -> list[list[forms.BoundField]]:
        return [[self[f"cond_{i}_question"], self[f"cond_{i}_op"], self[f"cond_{i}_value"]]
                for i in range(self.condition_count)]

    # Cleaning ---------------------------------------------------------------------------------

    def clean_id(self) -> str:
        value = str(self.cleaned_data["id"]).strip()
        if not is_slug(value):
            raise forms.ValidationError("Use lower-case letters, digits and _, starting with a "
                                        "letter (at most 40).")
        if value in self.taken_ids:
            raise forms.ValidationError(f"The survey already has a question {value!r}.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.kind in CHOICE_TYPES:
            self._clean_choices(data)
        if self.kind == "rating" and isinstance(data.get("min"), int) \
                and isinstance(data.get("max"), int) and data["min"] >= data["max"]:
            self.add_error("max", "The highest point must be above the lowest.")
        conditions = []
        for i in range(self.condition_count):
            condition = self._clean_condition(i, data)
            if condition is not None:
                conditions.append(condition)
        data["conditions"] = conditions
        return data

    def _clean_choices(self, data: dict[str, Any]) -> None:
        default = self.default_language
        pairs = parse_choices(data.get(f"choices_{default}") or "")
        ids = [pid for pid, _ in pairs]
        problems = [label for pid, label in pairs if not is_slug(pid) or not label]
        if problems:
            self.add_error(f"choices_{default}", f"Cannot read the option "
                           f"\u201c{problems[0]}\u201d: write it as id: label, the id in "
                           "lower-case letters, digits and _.")
        elif len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            self.add_error(f"choices_{default}", f"Option ids must differ; repeated: "
                           f"{', '.join(repeated)}.")
        elif "other" in ids and data.get("allow_other"):
            self.add_error(f"choices_{default}", "The id \u201cother\u201d is kept for the "
                           "\u201cOther\u201d answer; rename that option.")
        labels: dict[str, dict[str, str]] = {pid: {default: label} for pid, label in pairs}
        for code in self.languages[1:]:
            for pid, label in parse_choices(data.get(f"choices_{code}") or ""):
                if pid not in labels:
                    self.add_error(f"choices_{code}", f"There is no option {pid!r} in "
                                   f"{default}; use the ids given there.")
                    break
                if label:
                    labels[pid][code] = label
        data["choices"] = [{"id": pid, "label": labels[pid]} for pid, _ in pairs]

    def _clean_condition(self, i: int, data: dict[str, Any]) -> dict[str, Any] | None:
        target = data.get(f"cond_{i}_question") or ""
        op = data.get(f"cond_{i}_op") or "eq"
        raw = (data.get(f"cond_{i}_value") or "").strip()
        if not target:
            if raw:
                self.add_error(f"cond_{i}_question", "Choose the question this condition "
                                                     "looks at.")
            return None
        question = self.earlier.get(target)
        if question is None:
            self.add_error(f"cond_{i}_question", "Conditions may only look at earlier "
                                                 "questions.")
            return None
        if op in ("answered", "not_answered"):
            return {"question": target, "op": op}
        try:
            value = _condition_value(question, op, raw)
        except ValueError as exc:
            self.add_error(f"cond_{i}_value", str(exc))
            return None
        return {"question": target, "op": op, "value": value}

    # The result -------------------------------------------------------------------------------

    def to_question(self) -> dict[str, Any]:
        """The question as definition JSON, from the cleaned form."""
        data = self.cleaned_data
        question: dict[str, Any] = {"id": data["id"] if self.is_new else self.question["id"],
                                    "type": self.kind}
        if self.kind != "hidden":
            question["text"] = self._texts(data, "text")
            if help_text := self._texts(data, "help"):
                question["help"] = help_text
        question["required"] = bool(data.get("required"))
        if self.kind in SCALE_TYPES:
            question["style"] = data["style"]
            for key in ("low_label", "high_label"):
                if texts := self._texts(data, key):
                    question[key] = texts
            if self.kind == "rating":
                question["min"], question["max"] = data["min"], data["max"]
        if self.kind in CHOICE_TYPES:
            question["choices"] = data["choices"]
            question["allow_other"] = bool(data.get("allow_other"))
            question["randomize"] = bool(data.get("randomize"))
            if data.get("max_selected"):
                question["max_selected"] = data["max_selected"]
        if self.kind in TEXT_TYPES:
            question["max_length"] = data["max_length"]
        if data.get("conditions"):
            question["show_if"] = {"match": data.get("match") or "all",
                                   "conditions": data["conditions"]}
        return question

    def _texts(self, data: dict[str, Any], key: str) -> dict[str, str]:
        return {code: data[f"{key}_{code}"].strip() for code in self.languages
                if (data.get(f"{key}_{code}") or "").strip()}

    def error_fields(self, index: int) -> dict[tuple[str | int, ...], str]:
        """Where an error about this question (at ``index``) goes on the form."""
        base: tuple[str | int, ...] = ("questions", index)
        fields: dict[tuple[str | int, ...], str] = {}
        for prefix in (base, (*base, self.kind)):  # a union's errors name the type too
            fields[prefix] = ""
            fields[(*prefix, "choices")] = f"choices_{self.default_language}"
            fields[(*prefix, "show_if")] = "cond_0_question"
            for name in ("min", "max", "max_length", "max_selected", "style", "id"):
                fields[(*prefix, name)] = name
            for key in ("text", "help", "low_label", "high_label"):
                fields[(*prefix, key)] = f"{key}_{self.default_language}"
                for code in self.languages:
                    fields[(*prefix, key, code)] = f"{key}_{code}"
        return fields


def _condition_value(question: dict[str, Any], op: str, raw: str) -> Any:
    """The typed value of a condition on ``question``: numbers on scales, yes/no on consent,
    option ids on choices, text otherwise. Raises ValueError with a message for the form."""
    kind = str(question.get("type"))
    qid = question.get("id")

    def one(text: str) -> Any:
        if kind in SCALE_TYPES:
            if not re.fullmatch(r"-?\d{1,3}", text):
                raise ValueError(f"{qid!r} is a score: give a whole number.")
            return int(text)
        if kind == "consent":
            if text.lower() not in ("yes", "no", "true", "false"):
                raise ValueError(f"{qid!r} is a consent: give yes or no.")
            return text.lower() in ("yes", "true")
        if kind in CHOICE_TYPES:
            ids = [str(c.get("id")) for c in question.get("choices", [])]
            if question.get("allow_other"):
                ids.append("other")
            if text not in ids:
                raise ValueError(f"{text!r} is not an option of {qid!r}; its options are "
                                 f"{', '.join(ids)}.")
        return text

    if not raw:
        raise ValueError("Give the value to compare with.")
    if op in ("in", "not_in"):
        return [one(part.strip()) for part in raw.split(",") if part.strip()]
    if op in ("lt", "lte", "gt", "gte") and kind not in SCALE_TYPES:
        raise ValueError(f"{qid!r} is not a score, so it cannot be compared as a number.")
    return one(raw)
