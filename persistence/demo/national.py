"""National-volume data for benchmarks and plan tests (PostgreSQL only), loaded with COPY.

`load(url, volume)` fills a migrated, empty database (or a schema holding empty copies of its
tables) with a country's worth of records, deterministic for a seed and a day:

* the offices of persistence/demo/national_offices.py (500 by default) with their hours,
  services and closures, two officers each, an admin and analysts;
* `volume.persons` persons, each with an account (APPLICANT) to sign in with, a current
  passport (three in ten also a superseded one), about five documents (an entry visa, then
  permits one after the other, the last one valid), about two applications with their
  events (most collected, some rejected or withdrawn, one in six still open), a PR card for
  three in a hundred and a helper's delegation for most children and a few others; persons
  live where foreigners live (Shanghai, Beijing, the Pearl River Delta first) and go to
  their nearest office;
* slots of `past_days` before and `future_days` from `today` (`slot_minutes` long, from the
  offices' hours and China's official calendar, as the service makes them), with the
  appointments of those days: about a fifth of the persons came in the past days, an eighth
  hold a booking for the coming ones, busy offices' near days fully booked.

Rows are made in chunks (persons, offices) by `jobs` processes, each chunk from its own random
generator seeded with (seed, chunk), so the data does not depend on how many processes made it.
The bulk tables' secondary indexes, unique constraints and foreign keys are dropped for the
load and made again afterwards (foreign keys validated), as pg_restore does; sequences are
moved past the ids used, and the tables vacuumed and analysed.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import random
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

from domain.application_numbers import format_application_number
from domain.booking import SERVICE_GROUPS
from domain.calendar import WorkingCalendar, official_days
from domain.dates import HOME_ZONE_NAME
from domain.identifiers import make_pr_card_number, make_reference, normalise_name
from domain.office_hours import intervals_on, parse_hours, slot_windows
from persistence.demo.national_offices import RESIDENCE_SERVICES, national_offices

# The tables made in bulk: their secondary indexes, unique constraints and foreign keys are
# dropped while they load.
BULK_TABLES = (
    "person",
    "account",
    "account_role",
    "passport",
    "document",
    "application",
    "application_event",
    "slot",
    "appointment",
    "pr_card",
    "delegation",
)
# Loaded first, row by row is fine: a few thousand rows.
OFFICE_TABLES = ("office", "office_hours", "office_service", "office_closure")

PERSONS_PER_CHUNK = 5000
ANALYSTS = 5
OFFICERS_PER_OFFICE = 2

# Share of persons with an appointment in the past days / a booking in the coming days.
PAST_APPOINTMENTS = 0.22
FUTURE_APPOINTMENTS = 0.12


@dataclass(frozen=True)
class Volume:
    """What to make: how many persons and offices, which days of slots, from which seed."""

    persons: int
    today: date
    # Every account's password hash (argon2): whoever knows the password signs in as anyone.
    password_hash: str
    offices: int = 500
    past_days: int = 60
    future_days: int = 30
    slot_minutes: int = 15
    seed: int = 1

    def email(self, person_id: int) -> str:
        return f"person{person_id}@national.test"

    def officer_email(self, office_code: str, n: int = 1) -> str:
        return f"officer{n}.{office_code.lower()}@national.test"

    def analyst_email(self, n: int = 1) -> str:
        return f"analyst{n}@national.test"

    @property
    def admin_email(self) -> str:
        return "admin@national.test"


@dataclass
class Report:
    """What a load made and how long each step took."""

    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: dict[str, float] = field(default_factory=dict)
    busiest_office_ids: list[int] = field(default_factory=list)


# --- who the persons are ----------------------------------------------------------------------

# (ISO alpha-3, share of foreign residents, name group). Orders of magnitude of the 2020
# census's foreign residents by country of citizenship.
NATIONALITIES = (
    ("KOR", 15, "KO"), ("VNM", 9, "VI"), ("USA", 7, "EN"), ("JPN", 7, "JA"), ("MMR", 6, "MY"),
    ("RUS", 4, "RU"), ("IND", 3, "IN"), ("PAK", 3, "IN"), ("GBR", 3, "EN"), ("DEU", 3, "DE"),
    ("FRA", 3, "FR"), ("CAN", 2, "EN"), ("AUS", 2, "EN"), ("MYS", 3, "MA"), ("THA", 3, "TH"),
    ("PHL", 3, "ES"), ("IDN", 3, "MA"), ("LAO", 2, "TH"), ("NPL", 1, "IN"), ("BRA", 1, "ES"),
    ("ITA", 1, "FR"), ("ESP", 1, "ES"), ("NGA", 2, "EN"), ("KAZ", 2, "RU"), ("MNG", 2, "MN"),
    ("SGP", 2, "EN"), ("UKR", 1, "RU"), ("TUR", 1, "DE"), ("EGY", 1, "AR"), ("MEX", 1, "ES"),
)  # fmt: skip
_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "KO": (("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"),
           ("Minjun", "Seoyeon", "Jiho", "Hayoon", "Doyun", "Jiwoo", "Eunji", "Hyunwoo")),
    "VI": (("Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang", "Bui", "Do"),
           ("Anh", "Minh", "Thu", "Huong", "Duc", "Lan", "Quang", "Linh")),
    "EN": (("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
            "Taylor", "Clark"),
           ("James", "Mary", "Michael", "Sarah", "David", "Emma", "John", "Olivia")),
    "JA": (("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"),
           ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Kenji", "Yuki")),
    "MY": (("Aung", "Htun", "Win", "Kyaw", "Myint", "Thein", "Zaw", "Naing"),
           ("Su", "Thida", "Min", "Hla", "Ko", "Nilar", "Thant", "Ei")),
    "RU": (("Ivanov", "Smirnova", "Kuznetsov", "Popova", "Sokolov", "Petrova", "Volkov",
            "Novikova"),
           ("Alexander", "Anna", "Dmitry", "Elena", "Sergey", "Olga", "Ivan", "Natalia")),
    "IN": (("Sharma", "Patel", "Singh", "Kumar", "Khan", "Gupta", "Ali", "Shah"),
           ("Aarav", "Priya", "Rahul", "Ananya", "Imran", "Fatima", "Arjun", "Sita")),
    "DE": (("Muller", "Schmidt", "Schneider", "Fischer", "Weber", "Yilmaz", "Kaya", "Demir"),
           ("Lukas", "Lena", "Jonas", "Mia", "Emre", "Elif", "Felix", "Hannah")),
    "FR": (("Martin", "Bernard", "Dubois", "Rossi", "Russo", "Moreau", "Ferrari", "Laurent"),
           ("Louis", "Camille", "Lucas", "Chloe", "Marco", "Giulia", "Hugo", "Lea")),
    "MA": (("Tan", "Lim", "Abdullah", "Wijaya", "Rahman", "Santoso", "Ismail", "Hassan"),
           ("Nur", "Ahmad", "Siti", "Budi", "Aisyah", "Farid", "Dewi", "Hafiz")),
    "TH": (("Saelim", "Srisuk", "Phommachanh", "Chaiyaporn", "Keomany", "Wongsa"),
           ("Somchai", "Malee", "Niran", "Kanya", "Bounmy", "Noy", "Anan", "Dao")),
    "ES": (("Garcia", "Santos", "Reyes", "Cruz", "Silva", "Lopez", "Hernandez", "Oliveira"),
           ("Jose", "Maria", "Juan", "Ana", "Carlos", "Gabriela", "Luis", "Sofia")),
    "MN": (("Bat", "Ganbold", "Erdene", "Altangerel", "Tsetseg", "Bold"),
           ("Temuulen", "Anu", "Bilguun", "Saran", "Munkh", "Nomin", "Tuvshin", "Oyun")),
    "AR": (("Mohamed", "Ahmed", "Hassan", "Ibrahim", "Mahmoud", "Mostafa"),
           ("Omar", "Nour", "Youssef", "Mariam", "Karim", "Salma", "Ali", "Hana")),
}  # fmt: skip

# (track, share, visa category of entry, permit purpose or None for visa holders only)
_TRACKS = (
    ("WORK", 45, "Z", "WORK"),
    ("STUDY", 15, "X1", "STUDY"),
    ("FAMILY", 20, "Q1", "FAMILY_REUNION"),
    ("VISIT", 20, "M", None),
)
_VISIT_CATEGORIES = ("M", "F", "L", "S2")
_DOC_COUNTS = ((2, 8), (3, 15), (4, 20), (5, 22), (6, 17), (7, 10), (8, 8))
_DECIDED_APPS = ((0, 10), (1, 25), (2, 35), (3, 20), (4, 10))
_OPEN_STATUSES = (
    ("SUBMITTED", 20),
    ("ACCEPTED", 30),
    ("UNDER_REVIEW", 40),
    ("MATERIALS_REQUESTED", 10),
)
_DELEGATION_SCOPES = (
    '["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"]',
    '["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"]',
    '["VIEW_DOCUMENTS"]',
)
_VISA_GROUP_SERVICES = (
    ("VISA_EXTENSION", 50),
    ("STAY_PERMIT_EXTENSION", 20),
    ("VISA_RENEWAL", 15),
    ("STAY_PERMIT_ISSUANCE", 10),
    ("VISA_REISSUANCE", 5),
)
_RESIDENCE_GROUP_SERVICES = (
    ("RESIDENCE_PERMIT_EXTENSION", 50),
    ("RESIDENCE_PERMIT_RENEWAL", 25),
    ("RESIDENCE_PERMIT_ISSUANCE", 20),
    ("RESIDENCE_PERMIT_REISSUANCE", 5),
)


def _cumulative(pairs: tuple[tuple[Any, int], ...]) -> tuple[list[Any], list[int]]:
    values, totals, total = [], [], 0
    for value, weight in pairs:
        total += weight
        values.append(value)
        totals.append(total)
    return values, totals


_NAT_VALUES, _NAT_CUM = _cumulative(tuple(((a, g), w) for a, w, g in NATIONALITIES))
_TRACK_VALUES, _TRACK_CUM = _cumulative(tuple((t, t[1]) for t in _TRACKS))
_DOC_VALUES, _DOC_CUM = _cumulative(_DOC_COUNTS)
_APP_VALUES, _APP_CUM = _cumulative(_DECIDED_APPS)
_OPEN_VALUES, _OPEN_CUM = _cumulative(_OPEN_STATUSES)
_VISA_SVC = _cumulative(_VISA_GROUP_SERVICES)
_RES_SVC = _cumulative(_RESIDENCE_GROUP_SERVICES)

# Ids are made from the owner's id, so chunks made by different processes never collide:
# passports 2p, 2p+1; documents 8p+j; applications 4p+j; their events 8a+k; appointments
# 2p (past days) and 2p+1 (coming days); delegations p (one per dependant).
_DOCS_MAX, _APPS_MAX, _EVENTS_MAX = 8, 4, 8


# --- the plan every process shares (set before forking) --------------------------------------


@dataclass
class _Plan:
    url: str
    schema: str
    volume: Volume
    offices: list[dict[str, Any]]
    office_ids: list[int]
    home: list[int]  # office index of person p at home[p - 1]
    persons_of_office: list[list[int]]
    residence_office: list[int]  # office index where persons of office i apply for permits
    officer_ids: list[int]  # first officer account id of office i
    chunks: int


_PLAN: _Plan | None = None


def _plan() -> _Plan:
    assert _PLAN is not None, "load() sets the plan before any chunk runs"
    return _PLAN


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time on `day`, in UTC (China has no daylight saving)."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + timedelta(hours=hour - 8, minutes=minute)


# --- persons and their records -----------------------------------------------------------------


@dataclass
class _Rows:
    tables: dict[str, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    pr_holders: list[tuple] = field(default_factory=list)
    numbers: dict[tuple[int, int], int] = field(default_factory=dict)  # (office id, year): max

    def add(self, table: str, row: tuple) -> None:
        self.tables[table].append(row)


COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("id", "surname", "given_names", "surname_key", "nationality", "birth_date", "sex",
               "subject", "created_at"),
    "account": ("id", "email", "display_name", "password_hash", "created_at", "person_id",
                "office_id", "email_verified_at"),
    "account_role": ("id", "role", "account_id"),
    "passport": ("id", "number", "issuing_country", "valid_until", "bound_from", "bound_until",
                 "is_current", "person_id"),
    "document": ("id", "kind", "category", "number", "valid_from", "valid_until", "entries",
                 "duration_of_stay_days", "issued_at", "application_id", "issued_by_id",
                 "person_id"),
    "application": ("id", "number", "service", "status", "submitted_at", "accepted_on",
                    "decided_at", "applicant_id", "office_id", "recorded_by_id"),
    "application_event": ("id", "status", "at", "actor_id", "actor_kind", "application_id"),
    "pr_card": ("id", "number", "issued_on", "valid_until", "issued_by_id", "person_id"),
    "delegation": ("id", "relationship", "scopes", "status", "valid_until", "created_at",
                   "pending_until", "responded_at", "ended_at", "dependant_id", "helper_id",
                   "requested_surname", "requested_nationality", "requested_birth_date"),
    "slot": ("id", "service_group", "starts_at", "ends_at", "capacity", "booked", "open",
             "office_id", "held"),
    "appointment": ("id", "reference", "service", "starts_at", "ends_at", "status",
                    "active_key", "booked_by_kind", "reschedule_count", "created_at",
                    "updated_at", "applicant_id", "booked_by_id", "office_id", "slot_id"),
    "office": ("id", "code", "name_en", "name_zh", "address_en", "address_zh", "province",
               "province_code", "city", "latitude", "longitude", "phone", "time_zone",
               "counters_visa", "counters_residence"),
    "office_hours": ("id", "weekday", "opens", "closes", "office_id"),
    "office_service": ("id", "service", "office_id"),
    "office_closure": ("id", "date", "reason_en", "reason_zh", "created_at", "office_id"),
    "application_counter": ("id", "year", "last_number", "office_id"),
}  # fmt: skip


def _application_path(final: str, rng: random.Random) -> list[str]:
    """The statuses an application went through to reach `final`."""
    if final == "WITHDRAWN":
        return ["SUBMITTED", "ACCEPTED", "WITHDRAWN"][3 - rng.randint(2, 3) :]
    path = ["SUBMITTED"]
    if final == "SUBMITTED":
        return path
    path.append("ACCEPTED")
    if final == "ACCEPTED":
        return path
    path.append("UNDER_REVIEW")
    if final == "UNDER_REVIEW":
        return path
    if final == "MATERIALS_REQUESTED":
        return [*path, "MATERIALS_REQUESTED"]
    if rng.random() < 0.1:
        path += ["MATERIALS_REQUESTED", "UNDER_REVIEW"]
    if final == "REJECTED":
        return [*path, "REJECTED"]
    path.append("APPROVED")
    if final in ("READY_FOR_COLLECTION", "COLLECTED"):
        path.append("READY_FOR_COLLECTION")
    if final == "COLLECTED":
        path.append("COLLECTED")
    return path


def _application(
    rows: _Rows,
    rng: random.Random,
    chunk: int,
    counters: dict[tuple[int, int], int],
    *,
    app_id: int,
    person_id: int,
    office: int,
    service: str,
    final: str,
    submitted: datetime,
    now: datetime,
) -> datetime | None:
    """One application and its events; the time of its decision (None while open)."""
    plan = _plan()
    office_id = plan.office_ids[office]
    officer = plan.officer_ids[office] + rng.randrange(OFFICERS_PER_OFFICE)
    year = (submitted + timedelta(hours=8)).year
    # Numbers per office and year without coordination between chunks: chunk c takes every
    # `chunks`-th number from c + 1 on.
    local = counters.get((office_id, year), 0)
    counters[(office_id, year)] = local + 1
    sequence = local * plan.chunks + chunk + 1
    key = (office_id, year)
    rows.numbers[key] = max(rows.numbers.get(key, 0), sequence)
    at = submitted
    accepted_on = decided = None
    for k, status in enumerate(_application_path(final, rng)):
        if k:
            at = min(now, at + timedelta(hours=rng.randint(3, 24 * 6)))
        if status == "ACCEPTED":
            accepted_on = (at + timedelta(hours=8)).date()
        if status in ("APPROVED", "REJECTED", "WITHDRAWN"):
            decided = at
        rows.add(
            "application_event", (app_id * _EVENTS_MAX + k, status, at, officer, "OFFICER", app_id)
        )
    number = format_application_number(plan.offices[office]["code"], year, sequence)
    rows.add(
        "application",
        (app_id, number, service, final, submitted, accepted_on, decided, person_id, office_id,
         officer),
    )  # fmt: skip
    return decided


def _person_chunk(chunk: int, first: int, last: int) -> _Rows:
    """Persons first..last with everything they hold."""
    plan = _plan()
    volume = plan.volume
    rng = random.Random(f"{volume.seed}:persons:{chunk}")  # noqa: S311 (sample data)
    rows = _Rows()
    counters: dict[tuple[int, int], int] = {}
    today = volume.today
    now = _at(today, 7)  # the data stops before the offices open on `today`
    n = last - first + 1
    nationalities = rng.choices(_NAT_VALUES, cum_weights=_NAT_CUM, k=n)
    tracks = rng.choices(_TRACK_VALUES, cum_weights=_TRACK_CUM, k=n)
    doc_counts = rng.choices(_DOC_VALUES, cum_weights=_DOC_CUM, k=n)
    app_counts = rng.choices(_APP_VALUES, cum_weights=_APP_CUM, k=n)
    for i, pid in enumerate(range(first, last + 1)):
        (nationality, group), track = nationalities[i], tracks[i]
        surnames, givens = _NAMES[group]
        surname, given = rng.choice(surnames), rng.choice(givens)
        if rng.random() < 0.4:
            given = f"{given} {rng.choice(givens)}"
        child = rng.random() < 0.08
        age_days = rng.randint(200, 17 * 365) if child else int(rng.triangular(18, 75, 32) * 365)
        birth = today - timedelta(days=age_days)
        sex = "M" if rng.random() < 0.55 else "F"
        arrived = today - timedelta(days=rng.randint(60, min(age_days, 12 * 365)))
        created = _at(arrived, 10, rng.randrange(60))
        home = plan.home[pid - 1]
        permits_at = plan.residence_office[home] if track[3] else home
        rows.add("person", (pid, surname, given, normalise_name(surname), nationality, birth, sex,
                            f"{rng.getrandbits(128):032x}", created))  # fmt: skip
        rows.add("account", (pid, volume.email(pid), f"{given} {surname}"[:100],
                             volume.password_hash, created, pid, None, created))  # fmt: skip
        rows.add("account_role", (pid, "APPLICANT", pid))
        # Passports: the current one, and for some the one it replaced.
        letter = chr(ord("A") + pid % 26)
        renewed = rng.random() < 0.3
        bound = arrived + timedelta(days=rng.randint(200, 2000)) if renewed else arrived
        bound = min(bound, today - timedelta(days=1))
        rows.add("passport", (2 * pid, f"{letter}{2 * pid:08d}", nationality,
                              bound + timedelta(days=rng.randint(1500, 3650)), bound, None, True,
                              pid))  # fmt: skip
        if renewed:
            rows.add("passport", (2 * pid + 1, f"{letter}{2 * pid + 1:08d}", nationality,
                                  bound + timedelta(days=rng.randint(30, 400)), arrived, bound,
                                  False, pid))  # fmt: skip
        # Documents, newest first: the last one valid now (or lapsed for one in ten who left).
        count = doc_counts[i]
        permit = track[3]
        docs: list[tuple[str, str, date, date]] = []  # kind, category, from, until
        # The newest document began in the past; it ends later (or, for one in ten, who
        # left, has ended).
        end = None
        for j in range(count):
            oldest = j == count - 1
            if permit and not oldest:
                kind, category, length = "RESIDENCE_PERMIT", permit, rng.choice((365, 730, 730))
            elif permit:
                kind, category, length = "VISA", track[2], 90
            else:
                kind = "STAY_PERMIT" if rng.random() < 0.2 else "VISA"
                category = (
                    "PRIVATE_AFFAIRS" if kind == "STAY_PERMIT" else rng.choice(_VISIT_CATEGORIES)
                )
                length = rng.choice((90, 180, 365))
            if end is None:
                end = today + timedelta(days=rng.randint(1, length - 1))
                if rng.random() < 0.1:
                    end = today - timedelta(days=rng.randint(1, 400))
            start = end - timedelta(days=length)
            docs.append((kind, category, start, end))
            end = start - timedelta(days=1 if permit else rng.randint(30, 200))
        apps = min(app_counts[i], count - 1)
        app_index = 0
        for j, (kind, category, start, until) in enumerate(docs):
            doc_id = pid * _DOCS_MAX + j
            application = None
            issued_office = permits_at if kind != "VISA" else home
            # The newest documents came from applications at the office (an extension or a
            # renewal); the entry visa was issued abroad.
            if j < apps:
                application = pid * _APPS_MAX + app_index
                app_index += 1
                office = issued_office
                prefix = {"VISA": "VISA", "STAY_PERMIT": "STAY_PERMIT"}.get(
                    kind, "RESIDENCE_PERMIT"
                )
                service = f"{prefix}_{'EXTENSION' if rng.random() < 0.7 else 'RENEWAL'}"
                if kind == "RESIDENCE_PERMIT" and j == count - 2:
                    service = "RESIDENCE_PERMIT_ISSUANCE"
                submitted = _at(start - timedelta(days=rng.randint(15, 40)), 9, rng.randrange(180))
                final = (
                    "COLLECTED" if start < today - timedelta(days=10) else "READY_FOR_COLLECTION"
                )
                _application(rows, rng, chunk, counters, app_id=application, person_id=pid,
                             office=office, service=service, final=final, submitted=submitted,
                             now=now)  # fmt: skip
            visa = kind == "VISA"
            rows.add("document", (
                doc_id, kind, category, f"{kind[0]}{doc_id:010d}", start, until,
                rng.choice(("SINGLE", "DOUBLE", "MULTIPLE")) if visa else None,
                rng.choice((30, 60, 90, 180)) if visa else None,
                _at(start, 10), application,
                None if visa and j == count - 1 else plan.office_ids[issued_office], pid,
            ))  # fmt: skip
        # Some applications never made a document: rejected, withdrawn, or still open.
        extra = []
        if rng.random() < 0.08:
            extra.append(rng.choice(("REJECTED", "WITHDRAWN")))
        current_kind = docs[0][0]
        if docs[0][3] < today + timedelta(days=120) and rng.random() < 0.6:
            extra.append(rng.choices(_OPEN_VALUES, cum_weights=_OPEN_CUM)[0])
        for final in extra:
            if app_index >= _APPS_MAX:
                break
            prefix = {"VISA": "VISA", "STAY_PERMIT": "STAY_PERMIT"}.get(
                current_kind, "RESIDENCE_PERMIT"
            )
            office = permits_at if current_kind != "VISA" else home
            if final in ("REJECTED", "WITHDRAWN"):
                submitted = _at(today - timedelta(days=rng.randint(30, 900)), 9, rng.randrange(180))
            else:
                submitted = _at(today - timedelta(days=rng.randint(1, 40)), 9, rng.randrange(180))
            _application(rows, rng, chunk, counters, app_id=pid * _APPS_MAX + app_index,
                         person_id=pid, office=office, service=f"{prefix}_EXTENSION",
                         final=final, submitted=submitted, now=now)  # fmt: skip
            app_index += 1
        # PR cards: long-staying residents; numbers are given once all chunks are made.
        if permit and rng.random() < 0.06 and not child:
            issued = today - timedelta(days=rng.randint(30, 3000))
            rows.pr_holders.append((pid, plan.offices[home]["province_code"], nationality, birth,
                                    sex, issued, plan.office_ids[home]))  # fmt: skip
        # Helpers: a parent (the previous person's account) for most children, and a relative
        # for a few adults.
        if (child and rng.random() < 0.7) or rng.random() < 0.01:
            helper = pid - 1 if pid > first else pid + 1
            if helper <= last:
                status = rng.choices(("ACTIVE", "PENDING", "REVOKED", "EXPIRED", "DECLINED"),
                                     (80, 5, 8, 4, 3))[0]  # fmt: skip
                made = created + timedelta(days=rng.randint(1, 60))
                made = min(made, now - timedelta(days=20))
                answered = made + timedelta(hours=rng.randint(1, 72))
                rows.add("delegation", (
                    pid, "CHILD" if child else rng.choice(("PARENT", "SPOUSE", "RELATIVE")),
                    rng.choice(_DELEGATION_SCOPES), status,
                    None if status != "EXPIRED" else today - timedelta(days=rng.randint(1, 300)),
                    made,
                    now + timedelta(days=10) if status == "PENDING" else None,
                    answered if status in ("ACTIVE", "DECLINED", "REVOKED", "EXPIRED") else None,
                    answered + timedelta(days=30) if status in ("REVOKED", "EXPIRED") else None,
                    pid, helper, surname, nationality, birth,
                ))  # fmt: skip
    return rows


# --- offices' slots and appointments ----------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _calendar(first: date, last: date) -> WorkingCalendar:
    days = [d for year in range(first.year, last.year + 1) for d in official_days(year)]
    return WorkingCalendar(days)


@functools.lru_cache(maxsize=4096)
def _windows(
    day: date, intervals: tuple[tuple[clock, clock], ...], minutes: int, zone: str
) -> list[tuple[datetime, datetime]]:
    """A day's slot windows in UTC: offices share their hours, so each is worked out once."""
    return [
        (begin.astimezone(UTC), finish.astimezone(UTC))
        for begin, finish in slot_windows(day, intervals, minutes, ZoneInfo(zone))
    ]


def _office_chunk(index: int) -> _Rows:
    """Office `index`'s slots of the planned days and the appointments booked in them."""
    plan = _plan()
    volume = plan.volume
    office = plan.offices[index]
    office_id = plan.office_ids[index]
    rng = random.Random(f"{volume.seed}:office:{index}")  # noqa: S311 (sample data)
    rows = _Rows()
    zone = office.get("time_zone", HOME_ZONE_NAME)
    first = volume.today - timedelta(days=volume.past_days)
    last = volume.today + timedelta(days=volume.future_days - 1)
    calendar = _calendar(first, last)
    hours = parse_hours(office["hours"])
    closed = {date.fromisoformat(d) for d, _ in office["closures"]}
    groups = sorted({SERVICE_GROUPS[s] for s in office["services"]})
    capacity = {"VISA": office["counters"]["VISA"], "RESIDENCE": office["counters"]["RESIDENCE"]}
    stride = _slot_stride(volume)
    slots: list[list[Any]] = []
    day = first
    while day <= last:
        intervals = tuple(intervals_on(day, hours, calendar, closed))
        for begin, finish in _windows(day, intervals, volume.slot_minutes, zone):
            for group in groups:
                if capacity[group] > 0:
                    slot_id = index * stride + len(slots) + 1
                    slots.append([slot_id, group, begin, finish, capacity[group], 0, True,
                                  office_id, 0, day])  # fmt: skip
        day += timedelta(days=1)
    if len(slots) >= stride:
        raise RuntimeError(f"office {office['code']}: {len(slots)} slots exceed {stride}")
    now = _at(volume.today, 7)
    persons = plan.persons_of_office[index]
    past = [s for s in slots if s[9] < volume.today]
    coming = [s for s in slots if s[9] >= volume.today]
    for is_future, chosen_slots in ((False, past), (True, coming)):
        places = [s for s in chosen_slots for _ in range(s[4])]
        share = FUTURE_APPOINTMENTS if is_future else PAST_APPOINTMENTS
        wanted = min(len(places), round(len(persons) * share))
        if is_future:
            # The nearest days fill first: places sorted by day plus a random delay.
            keyed = sorted(places, key=lambda s: (s[9] - volume.today).days + rng.expovariate(0.2))
            taken = keyed[:wanted]
        else:
            taken = rng.sample(places, wanted)
        for slot, pid in zip(taken, rng.sample(persons, wanted), strict=True):
            group = slot[1]
            services, weights = _VISA_SVC if group == "VISA" else _RES_SVC
            service = rng.choices(services, cum_weights=weights)[0]
            if service not in office["services"]:
                service = "VISA_EXTENSION" if group == "VISA" else RESIDENCE_SERVICES[1]
            roll = rng.random()
            if is_future:
                status = "BOOKED" if roll < 0.94 else "CANCELLED"
            else:
                status = ("COMPLETED" if roll < 0.8 else "NO_SHOW" if roll < 0.87 else
                          "CANCELLED" if roll < 0.95 else "RESCHEDULED")  # fmt: skip
            if status not in ("CANCELLED", "RESCHEDULED"):
                slot[5] += 1
            appointment_id = 2 * pid + (1 if is_future else 0)
            created = min(
                now, slot[2] - timedelta(days=rng.randint(1, 20), minutes=rng.randrange(600))
            )
            rows.add("appointment", (
                appointment_id,
                # A bijection of the id (an odd multiplier modulo 2**40): unique references.
                make_reference((appointment_id * 0x5DEECE66D) % (1 << 40)),
                service, slot[2], slot[3], status,
                f"{pid}:{service}" if status == "BOOKED" else None,
                "SELF", 1 if status == "RESCHEDULED" else 0, created, created, pid, pid,
                office_id, slot[0],
            ))  # fmt: skip
    for s in slots:
        rows.add("slot", tuple(s[:9]))
    return rows


def _slot_stride(volume: Volume) -> int:
    """Slot ids of office i are i * stride + 1 ...: room for every slot of the planned days."""
    per_day = 2 * (24 * 60 // volume.slot_minutes)
    return per_day * (volume.past_days + volume.future_days) + 1


# --- running the chunks -----------------------------------------------------------------------


async def _connect(url: str, schema: str) -> Any:
    import asyncpg

    return await asyncpg.connect(
        url.replace("postgres://", "postgresql://", 1),
        server_settings={"search_path": schema, "synchronous_commit": "off"},
        timeout=30,
    )


async def _copy(connection: Any, schema: str, rows: _Rows) -> dict[str, int]:
    counts = {}
    async with connection.transaction():
        for table, records in rows.tables.items():
            await connection.copy_records_to_table(
                table, records=records, columns=COLUMNS[table], schema_name=schema
            )
            counts[table] = len(records)
    return counts


# Each process keeps one event loop and one connection for all the chunks it makes.
_SESSION: dict[str, Any] = {}


def _run_chunk(task: tuple[str, int, int, int]) -> tuple[dict[str, int], list[tuple], dict]:
    """Make one chunk and COPY it (in a worker process, or in the loading one)."""
    kind, index, first, last = task
    plan = _plan()
    rows = _person_chunk(index, first, last) if kind == "persons" else _office_chunk(index)
    if "loop" not in _SESSION:
        _SESSION["loop"] = asyncio.new_event_loop()
    loop = _SESSION["loop"]
    if "connection" not in _SESSION:
        _SESSION["connection"] = loop.run_until_complete(_connect(plan.url, plan.schema))
    counts = loop.run_until_complete(_copy(_SESSION["connection"], plan.schema, rows))
    return counts, rows.pr_holders, rows.numbers


def _end_session() -> None:
    """Close this process's connection and loop (after the last chunk). With processes, each
    one waits at the barrier until all have come, so every process gets one of these calls."""
    barrier = _SESSION.get("barrier")
    if barrier is not None:
        barrier.wait(timeout=120)
    loop = _SESSION.pop("loop", None)
    connection = _SESSION.pop("connection", None)
    if loop is not None:
        if connection is not None:
            loop.run_until_complete(connection.close())
        loop.close()


# --- DDL around the load ----------------------------------------------------------------------


@dataclass
class _Deferred:
    """What is dropped for the load, to be made again after it."""

    indexes: list[str]  # CREATE INDEX statements
    uniques: list[tuple[str, str, str]]  # (table, name, definition)
    foreign_keys: list[tuple[str, str, str]]


async def _defer(connection: Any, schema: str) -> _Deferred:
    tables = list(BULK_TABLES)
    constraints = await connection.fetch(
        "SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype::text AS contype, "
        "pg_get_constraintdef(c.oid) AS def FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype IN ('u', 'f')",
        schema,
        tables,
    )
    backing = {r["conname"] for r in constraints if r["contype"] == "u"}
    indexes = await connection.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_index x ON x.indexrelid = c.oid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname "
        "WHERE i.schemaname = $1 AND i.tablename = ANY($2) AND NOT x.indisprimary",
        schema,
        tables,
    )
    deferred = _Deferred(
        indexes=[r["indexdef"] for r in indexes if r["indexname"] not in backing],
        uniques=[(r["tbl"], r["conname"], r["def"]) for r in constraints if r["contype"] == "u"],
        foreign_keys=[
            (r["tbl"], r["conname"], r["def"]) for r in constraints if r["contype"] == "f"
        ],
    )
    for table, name, _ in deferred.foreign_keys + deferred.uniques:
        await connection.execute(f'ALTER TABLE "{schema}".{_bare(table)} DROP CONSTRAINT "{name}"')
    for row in indexes:
        if row["indexname"] not in backing:
            await connection.execute(f'DROP INDEX "{schema}"."{row["indexname"]}"')
    return deferred


def _bare(table: str) -> str:
    """A table name as regclass printed it (quoted or not, maybe schema-qualified), quoted."""
    name = table.rsplit(".", 1)[-1].strip('"')
    return f'"{name}"'


async def _in_parallel(url: str, schema: str, jobs: int, statements: list[str]) -> None:
    """Run independent statements on `jobs` connections at once."""
    queue = list(reversed(statements))

    async def worker() -> None:
        connection = await _connect(url, schema)
        try:
            await connection.execute("SET maintenance_work_mem = '256MB'")
            while queue:
                await connection.execute(queue.pop())
        finally:
            await connection.close()

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))


async def _restore(url: str, schema: str, jobs: int, deferred: _Deferred) -> None:
    q = f'"{schema}".'
    await _in_parallel(
        url,
        schema,
        jobs,
        deferred.indexes
        + [f'ALTER TABLE {q}{_bare(t)} ADD CONSTRAINT "{n}" {d}' for t, n, d in deferred.uniques],
    )
    # NOT VALID is instant; VALIDATE checks the rows without blocking other tables' checks.
    connection = await _connect(url, schema)
    try:
        for table, name, definition in deferred.foreign_keys:
            await connection.execute(
                f'ALTER TABLE {q}{_bare(table)} ADD CONSTRAINT "{name}" {definition} NOT VALID'
            )
    finally:
        await connection.close()
    await _in_parallel(
        url,
        schema,
        jobs,
        [
            f'ALTER TABLE {q}{_bare(t)} VALIDATE CONSTRAINT "{n}"'
            for t, n, _ in deferred.foreign_keys
        ],
    )


# --- the load ---------------------------------------------------------------------------------


def _office_rows(offices: list[dict[str, Any]], volume: Volume) -> _Rows:
    rows = _Rows()
    created = _at(volume.today - timedelta(days=400), 9)
    hour_id = service_id = closure_id = 0
    for i, o in enumerate(offices, start=1):
        rows.add("office", (
            i, o["code"], o["name"]["EN"], o["name"]["ZH"], o["address"]["EN"],
            o["address"]["ZH"], o["province"], o["province_code"], o["city"], o["latitude"],
            o["longitude"], o["phone"], o.get("time_zone", HOME_ZONE_NAME),
            o["counters"]["VISA"], o["counters"]["RESIDENCE"],
        ))  # fmt: skip
        for weekday, opens, closes in o["hours"]:
            hour_id += 1
            rows.add("office_hours", (hour_id, weekday, opens, closes, i))
        for service in o["services"]:
            service_id += 1
            rows.add("office_service", (service_id, service, i))
        for day, reason in o["closures"]:
            closure_id += 1
            rows.add("office_closure", (closure_id, date.fromisoformat(day), reason["EN"],
                                        reason["ZH"], created, i))  # fmt: skip
    return rows


def _staff_rows(plan: _Plan) -> _Rows:
    """Officers of every office, an admin and analysts: accounts after the persons'."""
    volume = plan.volume
    rows = _Rows()
    created = _at(volume.today - timedelta(days=400), 9)
    for i, office in enumerate(plan.offices):
        for n in range(OFFICERS_PER_OFFICE):
            account = plan.officer_ids[i] + n
            rows.add("account", (account, volume.officer_email(office["code"], n + 1),
                                 f"Officer {n + 1} {office['code']}", volume.password_hash,
                                 created, None, plan.office_ids[i], created))  # fmt: skip
            rows.add("account_role", (account, "OFFICER", account))
    after = plan.officer_ids[-1] + OFFICERS_PER_OFFICE
    rows.add("account", (after, volume.admin_email, "Administrator", volume.password_hash,
                         created, None, None, created))  # fmt: skip
    rows.add("account_role", (after, "ADMIN", after))
    for n in range(1, ANALYSTS + 1):
        rows.add("account", (after + n, volume.analyst_email(n), f"Analyst {n}",
                             volume.password_hash, created, None, None, created))  # fmt: skip
        rows.add("account_role", (after + n, "ANALYST", after + n))
    return rows


def _pr_card_rows(holders: list[tuple]) -> _Rows:
    """PR cards, numbered in person order: the sequence counts holders sharing province,
    nationality, birth date and sex (the number's other fields)."""
    rows = _Rows()
    sequences: dict[tuple, int] = defaultdict(int)
    for n, (pid, province, nationality, birth, sex, issued, office_id) in enumerate(
        sorted(holders), start=1
    ):
        key = (province, nationality, birth, sex)
        number = make_pr_card_number(province, nationality, birth, sex, sequences[key])
        sequences[key] += 1
        until = issued + timedelta(days=3652 if (issued - birth).days > 18 * 365 else 1826)
        rows.add("pr_card", (n, number, issued, until, office_id, pid))
    return rows


def _assign_homes(volume: Volume, offices: list[dict[str, Any]]) -> list[int]:
    rng = random.Random(f"{volume.seed}:homes")  # noqa: S311 (sample data)
    cumulative, total = [], 0.0
    for office in offices:
        total += office["weight"]
        cumulative.append(total)
    return rng.choices(range(len(offices)), cum_weights=cumulative, k=volume.persons)


def _residence_offices(offices: list[dict[str, Any]]) -> list[int]:
    """Where persons of each office apply for permits: there, or the city's first office
    that issues them."""
    found = []
    for office in offices:
        if RESIDENCE_SERVICES[0] in office["services"]:
            found.append(offices.index(office))
            continue
        found.append(
            next(
                (
                    j
                    for j, other in enumerate(offices)
                    if other["city"] == office["city"]
                    and RESIDENCE_SERVICES[0] in other["services"]
                ),
                offices.index(office),
            )
        )
    return found


def _tasks(plan: _Plan) -> list[tuple[str, int, int, int]]:
    persons = plan.volume.persons
    tasks = [
        ("persons", c, c * PERSONS_PER_CHUNK + 1, min(persons, (c + 1) * PERSONS_PER_CHUNK))
        for c in range(plan.chunks)
    ]
    # The biggest offices first, so no process is left with a long one at the end.
    order = sorted(range(len(plan.offices)), key=lambda i: -len(plan.persons_of_office[i]))
    return [("offices", i, 0, 0) for i in order] + tasks


async def load(
    url: str,
    volume: Volume,
    *,
    schema: str = "public",
    jobs: int = 1,
    vacuum: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    """Fill the migrated, empty tables of `schema` (see the module description). `jobs`
    processes make and COPY the chunks (1: this process); indexes and checks are made again
    on as many connections."""
    global _PLAN
    report = Report()
    started = time.perf_counter()
    offices = national_offices(volume.offices, volume.seed)
    home = _assign_homes(volume, offices)
    persons_of_office: list[list[int]] = [[] for _ in offices]
    for pid, office in enumerate(home, start=1):
        persons_of_office[office].append(pid)
    first_officer = volume.persons + 1
    _PLAN = _Plan(
        url=url,
        schema=schema,
        volume=volume,
        offices=offices,
        office_ids=list(range(1, len(offices) + 1)),
        home=home,
        persons_of_office=persons_of_office,
        residence_office=_residence_offices(offices),
        officer_ids=[first_officer + OFFICERS_PER_OFFICE * i for i in range(len(offices))],
        chunks=(volume.persons + PERSONS_PER_CHUNK - 1) // PERSONS_PER_CHUNK,
    )
    plan = _PLAN
    busiest = sorted(range(len(offices)), key=lambda i: -len(persons_of_office[i]))
    report.busiest_office_ids = [plan.office_ids[i] for i in busiest[:10]]
    connection = await _connect(url, schema)
    try:
        for table, count in (
            await _copy(connection, schema, _office_rows(offices, volume))
        ).items():
            report.rows[table] += count
        deferred = await _defer(connection, schema)
    finally:
        await connection.close()
    report.seconds["offices and dropping indexes"] = time.perf_counter() - started

    t = time.perf_counter()
    holders: list[tuple] = []
    numbers: dict[tuple[int, int], int] = {}
    tasks = _tasks(plan)

    def collect(result: tuple[dict[str, int], list[tuple], dict]) -> None:
        counts, pr, made = result
        for table, count in counts.items():
            report.rows[table] += count
        holders.extend(pr)
        for key, value in made.items():
            numbers[key] = max(numbers.get(key, 0), value)

    loop = asyncio.get_running_loop()
    # One process: the chunks run in one thread of ours (its own event loop and connection);
    # more: in forked processes, which see the plan as it is now.
    pool: Executor
    if jobs <= 1:
        pool = ThreadPoolExecutor(max_workers=1)
    else:
        context = multiprocessing.get_context("fork")
        _SESSION["barrier"] = context.Barrier(jobs)
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        futures = [loop.run_in_executor(pool, _run_chunk, task) for task in tasks]
        for n, future in enumerate(asyncio.as_completed(futures), start=1):
            collect(await future)
            if n % 50 == 0:
                progress(f"  {n}/{len(tasks)} chunks ({time.perf_counter() - t:.0f} s)")
        ends = [loop.run_in_executor(pool, _end_session) for _ in range(max(1, jobs))]
        await asyncio.gather(*ends)
    finally:
        pool.shutdown()
        _SESSION.pop("barrier", None)
    report.seconds["persons, slots, appointments (COPY)"] = time.perf_counter() - t

    t = time.perf_counter()
    connection = await _connect(url, schema)
    try:
        extra = _staff_rows(plan)
        for table, records in _pr_card_rows(holders).tables.items():
            extra.tables[table] = records
        for n, ((office_id, year), last) in enumerate(sorted(numbers.items()), start=1):
            extra.add("application_counter", (n, year, last, office_id))
        for table, count in (await _copy(connection, schema, extra)).items():
            report.rows[table] += count
    finally:
        await connection.close()
    progress(f"  rows made in {time.perf_counter() - started:.0f} s; making indexes and checks")
    await _restore(url, schema, jobs, deferred)
    report.seconds["indexes, unique and foreign keys"] = time.perf_counter() - t

    t = time.perf_counter()
    connection = await _connect(url, schema)
    try:
        for table in (*BULK_TABLES, *OFFICE_TABLES, "application_counter"):
            name = f'"{schema}"."{table}"'
            highest = f"SELECT coalesce(max(id), 0) + 1 FROM {name}"  # noqa: S608 (our names)
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence($1, 'id'), ({highest}), false)", name
            )
    finally:
        await connection.close()
    maintenance = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    await _in_parallel(
        url,
        schema,
        jobs,
        [f'{maintenance} "{schema}"."{t}"' for t in (*BULK_TABLES, *OFFICE_TABLES)],
    )
    report.seconds["sequences, vacuum and analyze" if vacuum else "sequences, analyze"] = (
        time.perf_counter() - t
    )
    _PLAN = None
    return report
