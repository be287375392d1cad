"""What the service says to people before it is put into their language: a Message is the
English source text (the gettext message id, with `%(name)s` placeholders) and the values of
its placeholders. Rules return Messages; the edge renders them in the language the request
negotiated (translations.render). `N_` and `N_plural` mark the texts Babel extracts into the
catalogue (translations/messages.pot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Message(str):
    """A text for people. As a `str` it is the English text, so logs, English comparisons
    and code that only passes it on read it as before; `translations.render` puts it into
    another language from its id, plural and parameters (a parameter that is itself a
    Message is rendered in the same language)."""

    id: str
    plural: str | None
    count: int | None
    params: Mapping[str, Any]
    # gettext's message context (msgctxt): the same English words meaning something else
    # where they stand (a PDF column "Number" is the passport's) get their own translation.
    context: str | None

    def __new__(
        cls,
        id: str,
        params: Mapping[str, Any] | None = None,
        *,
        plural: str | None = None,
        count: int | None = None,
        context: str | None = None,
    ) -> Message:
        values = dict(params or {})
        # English has two plural forms: one for 1, the other for every other number.
        source = id if plural is None or count == 1 else plural
        message = super().__new__(cls, source % values if values else source)
        message.id = id
        message.plural = plural
        message.count = count
        message.params = values
        message.context = context
        return message

    def __getnewargs_ex__(self) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # Copies and pickles keep the id and parameters, not only the English text.
        return (self.id, self.params), {
            "plural": self.plural,
            "count": self.count,
            "context": self.context,
        }

    def with_params(self, **params: Any) -> Message:
        """This message with (more) placeholder values: for a text kept in a table, whose
        values are known only where it is used (a plural one's number as `count`)."""
        values = {**self.params, **params}
        return Message(
            self.id,
            values,
            plural=self.plural,
            count=values.get("count", self.count) if self.plural is not None else self.count,
            context=self.context,
        )


# `N_` is gettext's name for "mark now, translate later"; Babel extracts it.
def N_(text: str, **params: Any) -> Message:
    """A message whose English text is `text`, with `%(name)s` placeholders filled from
    `params` when it is rendered."""
    return Message(text, params)


def N_plural(singular: str, plural: str, count: int | None = None, **params: Any) -> Message:
    """A message about `count` things: each language picks its plural form for the number
    (Russian has three, Arabic six). `%(count)s` stands for the number in the texts. Without
    a count, a text kept in a table: `with_params(count=..., ...)` gives it one."""
    if count is None:
        return Message(singular, params, plural=plural)
    return Message(singular, {"count": count, **params}, plural=plural, count=count)


def N_ctx(context: str, text: str, **params: Any) -> Message:
    """A message whose English text is `text` where `context` says it stands (gettext's
    pgettext): translated apart from the same words elsewhere."""
    return Message(text, params, context=context)
