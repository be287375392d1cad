"""E-mail and display-name rules; distances between points."""

import pytest

from domain.accounts import display_name_problem, email_problem, normalise_email
from domain.geo import distance_km, valid_point


@pytest.mark.parametrize(
    "email",
    [
        "a@b.cn",
        "first.last+tag@example.test",
        "o'neil@x.org",
        "a_b-c@sub-domain.example.co.uk",
        "user@xn--fsqu00a.xn--fiqs8s",
        "用户@例子.中国",
    ],
)
def test_ordinary_addresses_are_accepted(email):
    assert email_problem(normalise_email(f"  {email.upper()} ")) is None


@pytest.mark.parametrize("email", ["", "no-at-sign", "two@@example.test", "a@b", "a b@c.cn"])
def test_malformed_addresses_are_refused(email):
    assert email_problem(email) is not None


@pytest.mark.parametrize(
    "email",
    [
        "x<victim@example.test",  # a mail program sends it to victim@example.test
        "x <victim@example.test>",
        "a,b@example.test",
        "a;b@example.test",
        '"quoted"@example.test',
        "a(comment)@example.test",
        "a..b@example.test",
        ".a@example.test",
        "a.@example.test",
        "a@-example.test",
        "a@example..test",
        "a@example.123",
        "a\u2028b@example.test",
        "a@exa\x00mple.test",
        "x" * 65 + "@example.test",
    ],
)
def test_addresses_a_mail_program_would_read_otherwise_are_refused(email):
    assert email_problem(email) is not None


def test_display_names_need_one_to_hundred_characters():
    assert display_name_problem("") is not None
    assert display_name_problem("x" * 101) is not None
    assert display_name_problem("Wang Fang") is None


def test_beijing_to_shanghai_is_about_1070_km():
    assert 1060 < distance_km(39.9042, 116.4074, 31.2304, 121.4737) < 1080
    assert distance_km(31.0, 121.0, 31.0, 121.0) == 0


def test_points_outside_the_globe_are_invalid():
    assert valid_point(90, 180) and not valid_point(91, 0) and not valid_point(0, -181)
