"""The message catalogues, one gettext catalogue per language kept with Babel (see
docs/translations.md: `make messages` extracts, updates and compiles them), and rendering a
domain Message in one of the service's languages."""

from __future__ import annotations

import gettext
import logging
from pathlib import Path

from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.messages import Message

DIRECTORY = Path(__file__).resolve().parent
DOMAIN = "messages"

log = logging.getLogger(__name__)


def _load(language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE:
        # The texts in the code are English: no catalogue, English plural rules.
        return gettext.NullTranslations()
    # No fallback: a language whose compiled catalogue is missing stops the start, instead of
    # answering its users in English without anyone noticing.
    return gettext.translation(DOMAIN, DIRECTORY, languages=[language])


CATALOGUES: dict[str, gettext.NullTranslations] = {code: _load(code) for code in LANGUAGES}


def render(text: str, language: str) -> str:
    """`text` in `language` (one of LANGUAGES; anything else is English): a Message from the
    catalogue, with its placeholders filled; any other string as it is."""
    if not isinstance(text, Message):
        return text
    catalogue = CATALOGUES.get(language, CATALOGUES[SOURCE_LANGUAGE])
    if text.plural is not None and text.context is not None:
        template = catalogue.npgettext(text.context, text.id, text.plural, text.count or 0)
    elif text.plural is not None:
        template = catalogue.ngettext(text.id, text.plural, text.count or 0)
    elif text.context is not None:
        template = catalogue.pgettext(text.context, text.id)
    else:
        template = catalogue.gettext(text.id)
    if not text.params:
        return template
    values = {
        name: render(value, language) if isinstance(value, Message) else value
        for name, value in text.params.items()
    }
    try:
        return template % values
    except (KeyError, ValueError, TypeError):
        # A broken translation (tests/test_messages_i18n.py keeps them out): English, logged.
        log.exception("message %r does not format in %s", text.id, language)
        return str(text)
