"""Converters whose accept() takes a faster route than their regex still give its answers."""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from asgilab.converters import (
    BUILTIN_CONVERTERS,
    BY_TYPE,
    FLOAT,
    INT,
    STR,
    UUID,
    Converter,
    converter_name,
)


@given(st.text() | st.from_regex(r"[0-9]{1,30}", fullmatch=True))
@example("\uff14\uff12")  # full-width digits: int() takes them, the regex does not
@example("\u00b2")  # a superscript two: str.isdigit() says yes
@example("-1")
@example("")
def test_int_accepts_exactly_what_its_regex_matches(text: str) -> None:
    expected = int(text) if re.fullmatch(INT.regex, text) else None
    assert INT.accept(text) == expected


def test_numbers_too_long_to_convert_are_refused_not_raised() -> None:
    # int() refuses more than 4,300 digits and float() overflows to inf: the route does
    # not match (a 404), instead of an exception reaching the server or inf the handler.
    assert INT.accept("1" * 5000) is None
    assert FLOAT.accept("1" * 400) is None
    assert FLOAT.accept("1" * 300) == float("1" * 300)


@given(
    converter=st.sampled_from([INT, FLOAT, STR, UUID]),
    text=st.text(alphabet="0123456789.-abcdef", max_size=45)
    | st.builds("{}{}{}".format, st.text("x.1", max_size=3), st.uuids().map(str), st.text()),
    start=st.integers(0, 6),
)
@example(converter=FLOAT, text="12.5.6", start=0)
@example(converter=UUID, text="x12345678-1234-5678-1234-567812345678", start=1)
def test_spans_are_every_end_the_regex_takes(converter: Converter, text: str, start: int) -> None:
    # A mixed segment splits its text with them, instead of asking the regex at each end.
    spans = converter.spans(text, start)
    assert spans is not None
    ends = [end for low, high in spans for end in range(high, low, -1)]  # longest first
    takes = [e for e in range(len(text), start, -1) if converter.compiled.fullmatch(text[start:e])]
    assert ends == takes


def test_a_custom_converter_has_no_spans() -> None:
    year = Converter("year", r"[0-9]{4}", parse=int)
    assert year.spans("2024", 0) is None  # a mixed segment tries its regex end by end


@pytest.mark.parametrize(("name", "typed"), list(BY_TYPE.items()))
def test_by_type_names_a_builtin_converter_and_an_example_it_takes(
    name: str, typed: tuple[Converter, str, bool]
) -> None:
    # The form is what a 400 shows the client: its example must be a value that passes.
    converter, form, _ = typed
    assert BUILTIN_CONVERTERS[name] is converter
    example = form.rpartition("such as ")[2]
    assert converter_name(type(converter.accept(example))) == name
