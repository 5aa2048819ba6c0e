"""Request and response bodies of the service."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.types import Strict

from ner.markup import Markup
from ner.truecasing import Capitals

# A text must hold something besides whitespace. The characters are listed, not written \S, because
# Python and JavaScript regular expressions (the server and many schema validators) disagree on \s.
NOT_ONLY_WHITESPACE = r"[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\x1c-\x1f\x85]"
_VISIBLE = re.compile(NOT_ONLY_WHITESPACE)


def _not_only_whitespace(text: str) -> str:
    if not _VISIBLE.search(text):
        raise ValueError("must not be empty or only whitespace")
    return text


# Checked in Python rather than by pydantic's pattern, which refuses lone surrogates.
Text = Annotated[str, AfterValidator(_not_only_whitespace), Field(json_schema_extra={"pattern": NOT_ONLY_WHITESPACE})]


def _json_integer(value: object) -> object:
    """JSON Schema's integer: 3 and 3.0 are integers; true and "3" are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _json_number(value: object) -> object:
    """JSON Schema's number: 1 and 0.5 are numbers; false and "0.5" are not."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a number")  # NaN and Infinity, which JSON lacks, are none
    return float(value)


# The JSON types of the schema exactly, without coercion (false is not 0, "1" is not 1); strings stay
# lax so that lone surrogates escaped in JSON reach the tagger instead of failing validation.
JSONInteger = Annotated[int, BeforeValidator(_json_integer), Strict()]
JSONNumber = Annotated[float, BeforeValidator(_json_number)]

# Every string has a bounded length (texts: the configured max_chars, in the route and the OpenAPI schema).
MAX_NAME = 64
MAX_TEXTS = 10_000  # the most NER_MAX_TEXTS may allow: a longer list is refused before its texts are checked
MAX_LANG = 16
MAX_PHRASE = 200


def _length(shortest: int, longest: int) -> AfterValidator:
    """A string's length checked in Python: pydantic's own check refuses lone surrogates, which texts take."""

    def check(value: str) -> str:
        if not shortest <= len(value) <= longest:
            raise ValueError(f"must be {shortest} to {longest} characters long")
        return value

    return AfterValidator(check)


Phrase = Annotated[str, _length(1, MAX_PHRASE), Field(json_schema_extra={"minLength": 1, "maxLength": MAX_PHRASE})]
Label = Annotated[str, _length(1, MAX_NAME), Field(json_schema_extra={"minLength": 1, "maxLength": MAX_NAME})]
DictionaryEntries = dict[Phrase, Label]
_DICTIONARY_ENTRIES = TypeAdapter(DictionaryEntries)


def check_dictionary(entries: object) -> DictionaryEntries:
    """``entries`` if they are what ``TagRequest.dictionary`` declares; else :class:`RequestValidationError`,
    answered with a 422 like any other invalid field."""
    try:
        return _DICTIONARY_ENTRIES.validate_python(entries)
    except ValidationError as error:
        problems = [{**problem, "loc": ("body", "dictionary", *problem["loc"])} for problem in error.errors()]
        raise RequestValidationError(problems) from None


EXAMPLE_TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday."


class TagRequest(BaseModel):
    """Text to tag: exactly one of ``text`` (one) or ``texts`` (several), and options."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # "Exactly one" is checked by the server, which reads null as absent: a oneOf (or not) here kept
            # generated clients from making a class of the request, or refused their nulls for unset fields.
            "examples": [
                {"text": EXAMPLE_TEXT},
                {"texts": [EXAMPLE_TEXT, "The United Nations is based in New York."], "nbest": 3},
                {"text": "李明在北京大学工作。", "lang": "auto"},
                {"text": "Jordan Peele visited Acme Corp.", "dictionary": {"Acme Corp": "ORG", "Jordan Peele": "PER"}},
            ],
        },
    )

    text: Text = Field(None, description="One text to tag (give this or `texts`)")  # type: ignore[assignment]
    texts: list[Text] = Field(  # type: ignore[assignment]
        None, min_length=1, max_length=MAX_TEXTS, description="Several texts to tag"
    )
    model: Annotated[str, _length(0, MAX_NAME)] = Field(  # type: ignore[assignment]
        None,
        json_schema_extra={"maxLength": MAX_NAME},
        description="A model name from /models; default: chosen by `lang`",
    )
    lang: Annotated[str, _length(0, MAX_LANG)] = Field(
        "auto",
        json_schema_extra={"maxLength": MAX_LANG},
        description='"auto" picks the model by the script of each sentence; or "en", "zh"',
    )
    tokens: StrictBool = Field(False, description="Also return the tokens with offsets and tags")
    scores: StrictBool = Field(True, description="Give each entity its probability under the model")
    nbest: JSONInteger = Field(0, ge=0, description="Also return the n most probable analyses of each text")
    min_score: JSONNumber = Field(0.0, ge=0.0, le=1.0, description="Leave out entities less probable than this")
    # Left unchecked here: the service checks each distinct dictionary once (check_dictionary) and
    # remembers it, since a client tends to send the same 1,000 phrases with every request.
    dictionary: SkipValidation[DictionaryEntries | None] = Field(
        None,
        description='Phrases forced to a label, e.g. {"Acme Corp": "ORG"}; the label "O" keeps a phrase from being '
        "an entity. Matched longest first on token boundaries; the tags around a match stay a valid, most probable "
        "sequence, and scores and n-best respect the constraints.",
    )
    ignore_case: StrictBool = Field(False, description="Match the dictionary's phrases regardless of case")
    capitals: Capitals = Field(
        "auto",
        description="When an English (word) model restores its training words' usual capitals before reading: "
        "`auto` where a text is written all in one case, `restore` in every text (chat that capitalizes only "
        "each sentence's first word), `as_written` never; entities keep the text's spelling and offsets",
    )
    markup: Markup = Field(
        "text",
        description="How to read each text: `text` as it is; `html` or `markdown` as the page or document a reader "
        "sees (tags, emphasis marks and link targets left out, a block a paragraph, a table's cell a sentence): "
        "each entity's `start` and `end` are offsets into the text sent, its `text` what was read there "
        "(`AT&T` for `AT&amp;T`)",
    )
    offsets: Literal["code_points", "utf16", "utf8"] = Field(
        "code_points",
        description="The unit of every start and end: Unicode code points (Python's string indices), UTF-16 code "
        "units (JavaScript's, Java's and C#'s: `text.slice(start, end)`) or UTF-8 bytes (Go, Rust)",
    )

    @model_validator(mode="after")
    def _one_of_text_or_texts(self) -> TagRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError('give exactly one of "text" or "texts"')
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class EntityOut(BaseModel):
    start: int = Field(description="Offset of the first character, in the request's `offsets` (default: code points)")
    end: int = Field(description="Offset after the last character (exclusive)")
    label: str
    text: str = Field(
        description="The entity's text: the input's text[start:end] where offsets count code points (the default) "
        "and the text is read as it is (else what was read there)"
    )
    score: float | None = Field(None, description="Probability that exactly this span has exactly this label")


class TokenOut(BaseModel):
    text: str
    start: int = Field(description="Offset of the token's first character, in the request's `offsets`")
    end: int = Field(description="Offset after its last character (exclusive)")
    tag: str = Field(description="Its BIOES tag")


class AlternativeOut(BaseModel):
    probability: float
    entities: list[EntityOut]


class TaggedText(BaseModel):
    entities: list[EntityOut]
    tokens: list[TokenOut] | None = None
    nbest: list[AlternativeOut] | None = None


class TagResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "en-conll03",
                    "results": [
                        {
                            "entities": [
                                {"start": 0, "end": 13, "label": "PER", "text": "Angela Merkel", "score": 0.9967},
                                {"start": 18, "end": 33, "label": "PER", "text": "Emmanuel Macron", "score": 0.9987},
                                {"start": 37, "end": 42, "label": "LOC", "text": "Paris", "score": 0.9922},
                            ]
                        }
                    ],
                }
            ]
        }
    )

    model: str = Field(description="The model used, or the models joined by '+' when chosen per script")
    results: list[TaggedText] = Field(description="One result per input text, in order")


class ModelInfo(BaseModel):
    name: str
    language: str
    labels: list[str]
    version: str | None
    default: bool
    backend: str = Field(description="What computes its scores: onnx (ONNX Runtime) or torch")
    scores: dict = Field(description="Evaluation scores from the model card (dev and test)")


class ModelsResponse(BaseModel):
    default: str
    languages: dict[str, str] = Field(
        description='The model each language goes to with "lang"; "lang": "auto" takes the first of each script'
    )
    scripts: dict[str, str] = Field(
        description='The model each script goes to with "lang": "auto" ("cjk", "cyrillic", ...; "other": Latin and '
        'the scripts no model is for; "any": every text, where the models share one script)'
    )
    models: list[ModelInfo]


class StatusResponse(BaseModel):
    status: Literal["ok", "ready", "not ready"]


class ErrorBody(BaseModel):
    type: str
    message: str
    limit: str | None = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
