"""Converters whose accept() takes a faster route than their regex still give its answers."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from asgilab.converters import FLOAT, INT


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
