"""Identifier rules: PR card numbers, nationalities, references, passport numbers, names."""

import random
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pycountry

from domain.messages import N_, Message


class InvalidIdentifier(ValueError):
    """An identifier failed validation; the message says which rule it broke."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


# Province-level administrative division codes of GB/T 2260.
PROVINCE_CODES: dict[str, str] = {
    "11": "Beijing",
    "12": "Tianjin",
    "13": "Hebei",
    "14": "Shanxi",
    "15": "Inner Mongolia",
    "21": "Liaoning",
    "22": "Jilin",
    "23": "Heilongjiang",
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
    "35": "Fujian",
    "36": "Jiangxi",
    "37": "Shandong",
    "41": "Henan",
    "42": "Hubei",
    "43": "Hunan",
    "44": "Guangdong",
    "45": "Guangxi",
    "46": "Hainan",
    "50": "Chongqing",
    "51": "Sichuan",
    "52": "Guizhou",
    "53": "Yunnan",
    "54": "Tibet",
    "61": "Shaanxi",
    "62": "Gansu",
    "63": "Qinghai",
    "64": "Ningxia",
    "65": "Xinjiang",
    "71": "Taiwan",
    "81": "Hong Kong",
    "82": "Macao",
}


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


# --- Nationality (ISO 3166-1) -------------------------------------------------------------


def normalise_nationality(code: str) -> str:
    """The ISO 3166-1 alpha-3 code for `code` (alpha-3, any case, spaces ignored)."""
    alpha3 = _compact(code)
    if not re.fullmatch(r"[A-Z]{3}", alpha3) or pycountry.countries.get(alpha_3=alpha3) is None:
        raise InvalidIdentifier(N_("%(code)r is not an ISO 3166-1 alpha-3 country code", code=code))
    return alpha3


def _alpha3_to_numeric(alpha3: str) -> str:
    return pycountry.countries.get(alpha_3=normalise_nationality(alpha3)).numeric


def _numeric_to_alpha3(numeric: str) -> str | None:
    country = pycountry.countries.get(numeric=numeric)
    return None if country is None else country.alpha_3


# --- Foreign Permanent Resident ID Card number ----------------------------------------------

PrCardFormat = Literal["2023", "LEGACY"]
PrCardSex = Literal["M", "F_OR_X"]

_MOD11_2_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_MOD11_2_CHECK = "10X98765432"
_SEQUENCE_MAX = 999

# Legacy (2004–2023) cards stopped being issued on 1 December 2023 when the 2023 format began.
_LEGACY_LAST_ISSUE = date(2023, 11, 30)
FIRST_2023_FORMAT_ISSUE = date(2023, 12, 1)


@dataclass(frozen=True)
class PrCardNumber:
    """A decoded Foreign Permanent Resident ID Card number."""

    number: str
    format: PrCardFormat
    province_code: str
    nationality_alpha3: str
    birth_date: date
    sex: PrCardSex | None


def pr_card_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits (as for citizen ID numbers)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first17, _MOD11_2_WEIGHTS, strict=True)
    )
    return _MOD11_2_CHECK[total % 11]


def _province(code: str) -> str:
    if code not in PROVINCE_CODES:
        raise InvalidIdentifier(N_("%(code)r is not a GB/T 2260 province-level code", code=code))
    return code


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _decode_2023(number: str) -> PrCardNumber:
    if number[0] != "9":
        raise InvalidIdentifier(N_("an 18-character card number must start with 9"))
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InvalidIdentifier(N_("an 18-character card number is 17 digits then a digit or X"))
    if number[17] != pr_card_check_char(number[:17]):
        raise InvalidIdentifier(N_("the check character does not match (ISO 7064 MOD 11-2)"))
    province_code = _province(number[1:3])
    nationality = _numeric_to_alpha3(number[3:6])
    if nationality is None:
        raise InvalidIdentifier(
            N_("%(code)s is not an ISO 3166-1 numeric country code", code=number[3:6])
        )
    birth_date = _date_or_none(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    invalid = N_("%(digits)s is not a valid birth date (YYYYMMDD)", digits=number[6:14])
    sex: PrCardSex = "M" if int(number[16]) % 2 == 1 else "F_OR_X"
    return _card(number, "2023", province_code, nationality, birth_date, invalid, sex)


def _card(
    number: str,
    format_: PrCardFormat,
    province_code: str,
    nationality: str,
    birth_date: date | None,
    invalid_birth_date: Message,
    sex: PrCardSex | None,
) -> PrCardNumber:
    """The decoded card of either format, once its birth date is a real date (else the
    format's own message about its birth date digits)."""
    if birth_date is None:
        raise InvalidIdentifier(invalid_birth_date)
    return PrCardNumber(
        number=number,
        format=format_,
        province_code=province_code,
        nationality_alpha3=nationality,
        birth_date=birth_date,
        sex=sex,
    )


def pr_card_format_problem(card: PrCardNumber, issued_on: date) -> Message | None:
    """What is wrong with issuing a card of this number's format on `issued_on`: legacy
    numbers were issued until 30 November 2023 only, 2023-format ones from 1 December 2023."""
    if card.format == "LEGACY" and issued_on > _LEGACY_LAST_ISSUE:
        return N_(
            "Cards issued after 30 November 2023 have 18-character numbers (2023 format); "
            "15-character numbers are of cards issued before."
        )
    if card.format == "2023" and issued_on <= _LEGACY_LAST_ISSUE:
        return N_(
            "18-character numbers (2023 format) were first issued on 1 December 2023; a card "
            "issued before has a 15-character number."
        )
    return None


def _legacy_birth_date(yymmdd: str) -> date | None:
    # The two-digit year is read in the later century when that date is on or before the
    # last legacy issue: a child born in 2010 is far likelier than a holder born in 1910.
    year, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    recent = _date_or_none(2000 + year, month, day)
    if recent is not None and recent <= _LEGACY_LAST_ISSUE:
        return recent
    return _date_or_none(1900 + year, month, day)


def _decode_legacy(number: str) -> PrCardNumber:
    # 15-character cards issued before December 2023. The immigration administration only
    # says "3 Latin letters + 12 digits"; the layout below is the one independent
    # third-party validators agree on: ISO alpha-3 nationality, a 4-digit code of the
    # accepting authority (its first two digits the GB/T 2260 province), YYMMDD birth
    # date, then 2 digits. No authoritative statement of those last two digits (sequence,
    # sex, checksum) was found, so they are neither decoded nor verified.
    if not re.fullmatch(r"[A-Z]{3}[0-9]{12}", number):
        raise InvalidIdentifier(N_("a 15-character card number must be 3 letters then 12 digits"))
    nationality = normalise_nationality(number[:3])
    province_code = _province(number[3:5])
    birth_date = _legacy_birth_date(number[7:13])
    invalid = N_("%(digits)s is not a valid birth date (YYMMDD)", digits=number[7:13])
    return _card(number, "LEGACY", province_code, nationality, birth_date, invalid, None)


def decode_pr_card_number(number: str) -> PrCardNumber:
    """Validate and decode a permanent-resident card number in either format."""
    compact = _compact(number)
    if len(compact) == 18:
        return _decode_2023(compact)
    if len(compact) == 15:
        return _decode_legacy(compact)
    raise InvalidIdentifier(
        N_(
            "a card number has 18 characters (2023 format) or 15 characters (legacy format), "
            "not %(length)s",
            length=len(compact),
        )
    )


def pr_card_birth_date_matches(card: PrCardNumber, birth_date: date) -> bool:
    """Whether the card's birth date digits are `birth_date`. A legacy card's two-digit year
    is decoded to a best guess of the century; against a known person's birth date either
    century (19YY or 20YY) matches, so a holder born in 1922 keeps a card whose digits the
    decoder reads as 2022."""
    if card.format == "LEGACY":
        yymmdd = f"{birth_date.year % 100:02d}{birth_date.month:02d}{birth_date.day:02d}"
        return 1900 <= birth_date.year <= 2099 and card.number[7:13] == yymmdd
    return card.birth_date == birth_date


def _sequence_field(sex: str, sequence: int) -> int:
    if sex == "M":
        field = 2 * sequence + 1
    elif sex in ("F", "X"):
        field = 2 * sequence + 2
    else:
        raise InvalidIdentifier(N_("sex must be M, F or X, not %(sex)r", sex=sex))
    if sequence < 0 or field > _SEQUENCE_MAX:
        raise InvalidIdentifier(
            N_(
                "sequence %(sequence)s does not fit the 3-digit field for sex %(sex)s",
                sequence=sequence,
                sex=sex,
            )
        )
    return field


def pr_card_sex_matches(card: PrCardNumber, sex: str) -> bool:
    """Whether the card's sex digit (2023 format: the 17th, odd for male, even for female)
    fits a holder of `sex`. Nothing is checked for X, whose numbers are even like female
    ones but who may hold either, nor for legacy cards, whose digits say no sex."""
    if card.sex is None or sex not in ("M", "F"):
        return True
    return (card.sex == "M") == (sex == "M")


def next_pr_card_sequence(numbers: Iterable[str], sex: str) -> int:
    """The sequence after the highest one in use among `numbers` (2023-format numbers of one
    prefix) on `sex`'s side of the 17th digit (odd: M; even: F and X); 0 when none is."""
    odd = sex == "M"
    fields = [
        int(number[14:17])
        for number in numbers
        if len(number) == 18 and number[14:17].isdigit() and int(number[16]) % 2 == odd
    ]
    if not fields:
        return 0
    return (max(fields) - (1 if odd else 2)) // 2 + 1


def make_pr_card_number(
    province_code: str, nationality_alpha3: str, birth_date: date, sex: str, sequence: int
) -> str:
    """A 2023-format card number; `sequence` is the 0-based index among same-sex holders."""
    first17 = (
        "9"
        + _province(province_code)
        + _alpha3_to_numeric(nationality_alpha3)
        + f"{birth_date.year:04d}{birth_date.month:02d}{birth_date.day:02d}"
        + f"{_sequence_field(sex, sequence):03d}"
    )
    return first17 + pr_card_check_char(first17)


# --- Human-friendly references (Crockford base32 with a mod-37 check symbol) ----------------

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CHECK_ALPHABET = REFERENCE_ALPHABET + "*~$=U"
_REFERENCE_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None})
_RANDOM_REFERENCE_BITS = 40


def _encode_base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(REFERENCE_ALPHABET[digit])
    return "".join(reversed(chars))


def _decode_base32(body: str) -> int:
    value = 0
    for char in body:
        value = value * 32 + REFERENCE_ALPHABET.index(char)
    return value


def _present(body: str, check: str) -> str:
    return f"{body[:4]}-{body[4:]}{check}"


def make_reference(value: int, length: int = 8) -> str:
    """Encode `value` as `length` base32 characters plus a check symbol, e.g. "7K3M-9QX2P"."""
    if length < 1:
        raise ValueError("a reference needs at least one character")
    if not 0 <= value < 32**length:
        raise ValueError(f"{value} does not fit in {length} base32 characters")
    return _present(_encode_base32(value, length), _CHECK_ALPHABET[value % 37])


def normalise_reference(text: str, length: int = 8) -> str:
    """The canonical form of a typed reference; lowercase, no hyphen, O/I/L aliases accepted."""
    compact = _compact(text).translate(_REFERENCE_ALIASES)
    body, check = compact[:-1], compact[-1:]
    if len(body) != length or any(char not in REFERENCE_ALPHABET for char in body):
        raise InvalidIdentifier(
            N_(
                "a reference has %(length)s characters from %(alphabet)s",
                length=length,
                alphabet=REFERENCE_ALPHABET,
            )
        )
    if check != _CHECK_ALPHABET[_decode_base32(body) % 37]:
        raise InvalidIdentifier(
            N_("the reference's check character does not match; check for a typo")
        )
    return _present(body, check)


def validate_reference(text: str, length: int = 8) -> bool:
    try:
        normalise_reference(text, length)
    except InvalidIdentifier:
        return False
    return True


def random_reference(rng: random.Random | None = None) -> str:
    """A fresh 8-character reference from 40 random bits (cryptographic unless `rng` is given)."""
    bits = (
        secrets.randbits(_RANDOM_REFERENCE_BITS)
        if rng is None
        else rng.getrandbits(_RANDOM_REFERENCE_BITS)
    )
    return make_reference(bits)


# --- Passports and names ----------------------------------------------------------------------


def normalise_passport_number(text: str) -> str:
    """Passport number without whitespace, uppercase; 5 to 20 characters of A-Z and 0-9."""
    compact = _compact(text)
    if not re.fullmatch(r"[A-Z0-9]{5,20}", compact):
        raise InvalidIdentifier(N_("a passport number has 5 to 20 letters A-Z and digits 0-9"))
    return compact


def normalise_document_number(text: str) -> str:
    """An issued document's number as kept: compatibility forms folded (full-width ＡＢ１ is
    AB1), without whitespace, uppercase; 5 to 40 letters A-Z and digits 0-9, so that two
    numbers that look alike are the same number (no invisible character sets one apart)."""
    compact = _compact(unicodedata.normalize("NFKC", text))
    if not re.fullmatch(r"[A-Z0-9]{5,40}", compact):
        raise InvalidIdentifier(N_("A document number has 5 to 40 letters A-Z and digits 0-9."))
    return compact


def normalise_name(text: str) -> str:
    """A name folded for identity matching: NFKC, case-folded, single spaces; hyphens kept."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())
