import random
import re
from datetime import date

import pytest

from domain.identifiers import (
    PROVINCE_CODES,
    REFERENCE_ALPHABET,
    InvalidIdentifier,
    decode_pr_card_number,
    make_pr_card_number,
    make_reference,
    next_pr_card_sequence,
    normalise_name,
    normalise_nationality,
    normalise_passport_number,
    normalise_reference,
    pr_card_birth_date_matches,
    pr_card_check_char,
    pr_card_sex_matches,
    random_reference,
    validate_reference,
)

# Hand computation, 9 | 44 Guangdong | 392 Japan | 20010704 | 002 (even: F or X):
#   digits   9  4  4  3  9  2  2  0  0  1  0  7  0  4  0  0  2
#   weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
#   products 63 36 40 15 72 8  4  0  0  3  0 63  0 20  0  0  4  -> sum 328
#   328 mod 11 = 9, and "10X98765432"[9] = "3".
JAPANESE_WOMAN_IN_GUANGDONG = "944392200107040023"

# Hand computation, 9 | 31 Shanghai | 840 USA | 19850315 | 001 (odd: M):
#   products 63 27 10 40 32 0 2 9 48 15 0 27 10 25 0 0 2 -> sum 310
#   310 mod 11 = 2, and "10X98765432"[2] = "X".
AMERICAN_MAN_IN_SHANGHAI = "93184019850315001X"


def test_province_codes_cover_the_34_province_level_divisions() -> None:
    assert len(PROVINCE_CODES) == 34
    assert PROVINCE_CODES["11"] == "Beijing"
    assert PROVINCE_CODES["82"] == "Macao"


def test_hand_computed_card_number_decodes() -> None:
    card = decode_pr_card_number(JAPANESE_WOMAN_IN_GUANGDONG)
    assert card.format == "2023"
    assert card.province_code == "44"
    assert card.nationality_alpha3 == "JPN"
    assert card.birth_date == date(2001, 7, 4)
    assert card.sex == "F_OR_X"


def test_generated_card_number_for_usa_uses_numeric_code_840_and_round_trips() -> None:
    number = make_pr_card_number("31", "usa", date(1985, 3, 15), "M", 0)
    assert number == AMERICAN_MAN_IN_SHANGHAI
    assert number[3:6] == "840"
    card = decode_pr_card_number(number)
    assert (card.province_code, card.nationality_alpha3) == ("31", "USA")
    assert (card.birth_date, card.sex) == (date(1985, 3, 15), "M")


@pytest.mark.parametrize(
    ("sex", "sequence", "field", "decoded_sex"),
    [
        ("M", 0, "001", "M"),
        ("M", 7, "015", "M"),
        ("F", 0, "002", "F_OR_X"),
        ("X", 4, "010", "F_OR_X"),
    ],
)
def test_sequence_parity_encodes_sex(sex: str, sequence: int, field: str, decoded_sex: str) -> None:
    number = make_pr_card_number("11", "DEU", date(1970, 1, 31), sex, sequence)
    assert number[14:17] == field
    assert decode_pr_card_number(number).sex == decoded_sex


def test_many_generated_numbers_round_trip() -> None:
    rng = random.Random(2026)
    for _ in range(200):
        province = rng.choice(sorted(PROVINCE_CODES))
        nationality = rng.choice(["USA", "GBR", "KAZ", "AFG", "BRA", "NGA", "KOR"])
        birth = date(rng.randint(1930, 2023), rng.randint(1, 12), rng.randint(1, 28))
        sex = rng.choice("MFX")
        card = decode_pr_card_number(
            make_pr_card_number(province, nationality, birth, sex, rng.randint(0, 498))
        )
        assert (card.province_code, card.nationality_alpha3, card.birth_date) == (
            province,
            nationality,
            birth,
        )
        assert card.sex == ("M" if sex == "M" else "F_OR_X")


def test_check_character_x_is_accepted_in_lowercase_and_with_spaces() -> None:
    card = decode_pr_card_number(" 9 31 840 19850315 001 x ")
    assert card.number == AMERICAN_MAN_IN_SHANGHAI


def test_every_single_changed_digit_is_rejected() -> None:
    number = JAPANESE_WOMAN_IN_GUANGDONG
    for position in range(18):
        for digit in "0123456789X":
            if digit == number[position] or (digit == "X" and position < 17):
                continue
            changed = number[:position] + digit + number[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                decode_pr_card_number(changed)


def test_changed_sequence_digit_is_reported_as_a_check_failure() -> None:
    with pytest.raises(InvalidIdentifier, match="check character"):
        decode_pr_card_number("944392200107040013")


def _with_check(first17: str) -> str:
    return first17 + pr_card_check_char(first17)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("94439220010704002", "18 characters"),
        ("844392200107040023", "start with 9"),
        ("94439220010704002Y", "17 digits"),
        (_with_check("99939219850315001"), "province"),
        (_with_check("94499919850315001"), "numeric country code"),
        (_with_check("94439219850230001"), "birth date"),
    ],
)
def test_2023_format_rejections_name_the_failed_rule(number: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        decode_pr_card_number(number)


def test_legacy_card_number_decodes_nationality_province_and_birth_date() -> None:
    card = decode_pr_card_number("usa 1100 850315 01")
    assert card.number == "USA110085031501"
    assert card.format == "LEGACY"
    assert (card.nationality_alpha3, card.province_code) == ("USA", "11")
    assert card.birth_date == date(1985, 3, 15)
    assert card.sex is None


def test_legacy_two_digit_year_prefers_the_recent_century_up_to_the_last_issue() -> None:
    assert decode_pr_card_number("DEU310010070412").birth_date == date(2010, 7, 4)
    assert decode_pr_card_number("DEU310023113012").birth_date == date(2023, 11, 30)
    assert decode_pr_card_number("DEU310023121512").birth_date == date(1923, 12, 15)


@pytest.mark.parametrize("born", [date(1922, 5, 1), date(2022, 5, 1)])
def test_a_legacy_number_matches_a_birth_date_of_either_century(born: date) -> None:
    card = decode_pr_card_number("USA110022050101")
    assert card.birth_date == date(2022, 5, 1)  # the decoder's guess stays
    assert pr_card_birth_date_matches(card, born)


@pytest.mark.parametrize("born", [date(1922, 5, 2), date(1822, 5, 1), date(1922, 6, 1)])
def test_a_legacy_number_does_not_match_other_digits(born: date) -> None:
    assert not pr_card_birth_date_matches(decode_pr_card_number("USA110022050101"), born)


def test_a_2023_number_matches_only_its_full_birth_date() -> None:
    card = decode_pr_card_number(AMERICAN_MAN_IN_SHANGHAI)
    assert pr_card_birth_date_matches(card, date(1985, 3, 15))
    assert not pr_card_birth_date_matches(card, date(2085, 3, 15))


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("US1110085031501", "3 letters then 12 digits"),
        ("USA11008503150A", "3 letters then 12 digits"),
        ("XXA110085031501", "alpha-3"),
        ("USA990085031501", "province"),
        ("USA110085131501", "birth date"),
        ("USA110085023001", "birth date"),
    ],
)
def test_legacy_format_rejections_name_the_failed_rule(number: str, message: str) -> None:
    with pytest.raises(InvalidIdentifier, match=message):
        decode_pr_card_number(number)


@pytest.mark.parametrize(
    ("sex", "sequence"),
    [("M", 500), ("F", 499), ("X", 499), ("M", -1), ("Q", 1)],
)
def test_make_card_number_refuses_an_unrepresentable_sequence_or_sex(
    sex: str, sequence: int
) -> None:
    with pytest.raises(InvalidIdentifier):
        make_pr_card_number("11", "USA", date(1990, 1, 1), sex, sequence)


def test_make_card_number_accepts_the_last_male_sequence() -> None:
    assert make_pr_card_number("11", "USA", date(1990, 1, 1), "M", 499)[14:17] == "999"


def test_next_sequence_follows_the_highest_in_use_of_the_same_sex_parity() -> None:
    born = date(1990, 1, 1)
    numbers = [make_pr_card_number("11", "USA", born, sex, n) for sex, n in [("M", 1), ("F", 7)]]
    assert next_pr_card_sequence(numbers, "M") == 2
    assert next_pr_card_sequence(numbers, "F") == 8
    assert next_pr_card_sequence(numbers, "X") == 8
    assert next_pr_card_sequence(numbers[1:], "M") == 0
    assert next_pr_card_sequence([], "F") == 0


@pytest.mark.parametrize(
    ("number_sex", "holder_sex", "matches"),
    [
        ("M", "M", True),
        ("M", "F", False),
        ("F", "F", True),
        ("F", "M", False),
        ("M", "X", True),
        ("F", "X", True),
    ],
)
def test_a_2023_number_sex_digit_must_fit_a_male_or_female_holder(
    number_sex: str, holder_sex: str, matches: bool
) -> None:
    card = decode_pr_card_number(make_pr_card_number("11", "USA", date(1990, 1, 1), number_sex, 3))
    assert pr_card_sex_matches(card, holder_sex) is matches


def test_a_legacy_number_fits_a_holder_of_any_sex() -> None:
    card = decode_pr_card_number("USA110085031501")
    assert all(pr_card_sex_matches(card, sex) for sex in "MFX")


def test_make_card_number_refuses_unknown_province_or_nationality() -> None:
    with pytest.raises(InvalidIdentifier, match="province"):
        make_pr_card_number("99", "USA", date(1990, 1, 1), "M", 0)
    with pytest.raises(InvalidIdentifier, match="alpha-3"):
        make_pr_card_number("11", "ZZZ", date(1990, 1, 1), "M", 0)


def test_nationality_is_normalised_to_uppercase_alpha3() -> None:
    assert normalise_nationality("usa") == "USA"
    assert normalise_nationality(" d e u ") == "DEU"


@pytest.mark.parametrize("code", ["US", "840", "XXX", "", "UNITED STATES"])
def test_nationality_other_than_a_known_alpha3_is_rejected(code: str) -> None:
    with pytest.raises(InvalidIdentifier):
        normalise_nationality(code)


def test_reference_examples_computed_by_hand() -> None:
    # 37 = 1*32 + 5 -> body 00000015, check 37 mod 37 = 0 -> "0".
    assert make_reference(37) == "0000-00150"
    # 36 -> body 00000014, check symbol 36 is "U"; 32 -> body 00000010, check 32 is "*".
    assert make_reference(36) == "0000-0014U"
    assert make_reference(32) == "0000-0010*"


def test_references_round_trip() -> None:
    rng = random.Random(7)
    for value in [0, 1, 31, 32, 32**8 - 1, *(rng.getrandbits(40) for _ in range(200))]:
        reference = make_reference(value)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}[0-9A-Z*~$=]", reference)
        assert normalise_reference(reference) == reference
        assert validate_reference(reference)


def test_reference_value_must_fit_its_length() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        make_reference(32**8)
    with pytest.raises(ValueError, match="does not fit"):
        make_reference(-1)


def test_every_single_changed_reference_character_is_detected() -> None:
    reference = make_reference(987654321)
    compact = reference.replace("-", "")
    for position, original in enumerate(compact):
        for replacement in REFERENCE_ALPHABET + "*~$=U":
            if replacement == original:
                continue
            typo = compact[:position] + replacement + compact[position + 1 :]
            assert not validate_reference(typo), typo


def test_swapped_adjacent_reference_characters_are_detected() -> None:
    compact = make_reference(987654321).replace("-", "")[:-1]
    check = make_reference(987654321)[-1]
    for position in range(len(compact) - 1):
        if compact[position] == compact[position + 1]:
            continue
        swapped = (
            compact[:position] + compact[position + 1] + compact[position] + compact[position + 2 :]
        )
        assert not validate_reference(swapped + check), swapped


def test_reference_accepts_lowercase_missing_hyphen_and_aliases() -> None:
    assert normalise_reference("0000-00150") == "0000-00150"
    assert normalise_reference("oOoO ooL5O") == "0000-00150"
    assert normalise_reference("0000oOi5o") == "0000-00150"
    assert normalise_reference("0000-0014u") == "0000-0014U"


def test_invalid_reference_raises_with_a_hint_about_typos() -> None:
    with pytest.raises(InvalidIdentifier, match="typo"):
        normalise_reference("0000-00151")
    with pytest.raises(InvalidIdentifier, match="8 characters"):
        normalise_reference("0000-0015")
    assert not validate_reference("")
    assert not validate_reference("0000-00U50")


def test_random_reference_is_valid_and_reproducible_with_a_seeded_rng() -> None:
    assert random_reference(random.Random(1)) == random_reference(random.Random(1))
    for _ in range(20):
        assert validate_reference(random_reference())
    assert len({random_reference() for _ in range(50)}) == 50


def test_passport_number_is_compacted_and_uppercased() -> None:
    assert normalise_passport_number(" e 1234\t5678 ") == "E12345678"


@pytest.mark.parametrize("text", ["1234", "A" * 21, "AB-12345", "ÄB12345", ""])
def test_passport_number_outside_the_allowed_shape_is_rejected(text: str) -> None:
    with pytest.raises(InvalidIdentifier, match="5 to 20"):
        normalise_passport_number(text)


def test_name_is_case_folded_with_single_spaces_and_punctuation_kept() -> None:
    assert normalise_name("  O'Brien-SMITH ") == "o'brien-smith"
    assert normalise_name("Anne   Marie\tLEE") == "anne marie lee"


def test_name_compatibility_forms_and_case_variants_match() -> None:
    assert normalise_name("ＭＵＬＬＥＲ") == "muller"
    assert normalise_name("Straße") == normalise_name("STRASSE")
    assert normalise_name("MÜLLER") == "müller"
