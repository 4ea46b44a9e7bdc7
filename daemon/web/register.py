"""The register's query: what the filters and the search ask of the database, a page at a time.

Everything is filtered, searched, sorted, counted and paged by the database,
never in Python: the search is a case-insensitive substring match on the
complaint's text columns, the breach filter compares due dates with the
current time in SQL. A department member or GM only ever gets rows of the
departments their `Scope` allows; rows outside it do not exist for them.

The search uses the index migration 0009 made when there is one (`search_index`)
and the words are at least `MIN_INDEXED` characters long: on SQLite the FTS5
trigram table `ticket_search` (with the tickets still queued for it, 0011, found by
the plain search), on PostgreSQL the pg_trgm index on the joined,
lower-cased columns joined by line breaks (`JOINED`). Shorter words, or a
database without the index, get the LIKE on each column, which reads every ticket.
The filter menus read each column's distinct values by hopping along its index
(`_distinct`), not by reading the register.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    bindparam,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union,
)
from sqlmodel import Session, col

from daemon.sla.stamping import CLOSED_STATUSES
from daemon.store.models import Ticket
from daemon.store.search_queue import SEARCHED_COLUMNS
from daemon.tickets.lifecycle import STATUSES
from daemon.web.accounts import Scope

PAGE_SIZE = 50
STATUS_CHOICES = ("open", "closed", "all", *STATUSES)
BREACH_CHOICES = ("", "any", "first_response", "resolution")
SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (col(Ticket.received_at).desc(), col(Ticket.id).desc()),
    "oldest": (col(Ticket.received_at).asc(), col(Ticket.id).asc()),
    "due": (col(Ticket.resolution_due).asc(), col(Ticket.id).asc()),
    "reference": (col(Ticket.reference).asc(),),
    "department": (col(Ticket.department).asc(), col(Ticket.received_at).desc()),
    "status": (col(Ticket.status).asc(), col(Ticket.received_at).desc()),
}
SEARCHED = tuple(getattr(Ticket, name) for name in SEARCHED_COLUMNS)
"""The columns the search box looks in: the complaint, the customer, the organisation and the PIC."""
MIN_INDEXED = 3
"""Words this long or longer are looked up in the search index (it holds trigrams); shorter ones are not."""
MANY = 1_000
COUNT_CAP = 10_000
"""Matches counted at most: a total past it reads "more than 10,000" (a count no index can
shorten, such as a two-letter search or every breached ticket, stops there)."""
"""More matches than this, and SQLite finds the page by walking the sort's index (`Lookup.conditions`)."""
FTS5 = "fts5"
TRIGRAM = "pg_trgm"
SEARCH_TABLE = table("ticket_search", column("rowid"))
"""SQLite: the FTS5 table of migration 0009 (not a model: SQLAlchemy never creates it)."""
QUEUE_TABLE = table("ticket_search_queue", column("id"))
"""SQLite: the tickets not yet in `SEARCH_TABLE` (migration 0011, `daemon.store.search_queue`)."""
SEPARATOR = "\n"
JOINED: ColumnElement[str] = literal_column("lower(" + " || E'\\n' || ".join(SEARCHED_COLUMNS) + ")")
"""PostgreSQL: the expression migration 0009 indexes with pg_trgm; it must stay exactly the same."""


@dataclass(frozen=True, slots=True)
class Query:
    """The register's filters as the page's form sends them; '' is "any"."""

    q: str = ""
    status: str = "open"
    department: str = ""
    severity: str = ""
    product: str = ""
    branch: str = ""
    channel: str = ""
    month: str = ""
    breach: str = ""
    sort: str = "newest"
    page: int = 1
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Query:
        """The query a request's parameters ask for; values it cannot use are named in `problems`."""
        problems: list[str] = []

        def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
            value = params.get(name, default).strip().replace("in_progress", "in-progress")
            if value not in allowed:
                problems.append(f"{name} {value!r} is not one of {', '.join(a or '(any)' for a in allowed)}")
                return default
            return value

        month = params.get("month", "").strip()
        if month and _month_bounds(month, UTC) is None:
            problems.append(f"month {month!r} is not YYYY-MM")
            month = ""
        page_text = params.get("page", "1").strip() or "1"
        page = int(page_text) if page_text.isdigit() and int(page_text) >= 1 else 1
        return cls(
            q=params.get("q", "").strip()[:200],
            status=choice("status", STATUS_CHOICES, "open"),
            department=params.get("department", "").strip(),
            severity=params.get("severity", "").strip(),
            product=params.get("product", "").strip(),
            branch=params.get("branch", "").strip(),
            channel=params.get("channel", "").strip(),
            month=month,
            breach=choice("breach", BREACH_CHOICES, ""),
            sort=choice("sort", tuple(SORTS), "newest"),
            page=page,
            problems=tuple(problems),
        )

    def params(self, **changes: object) -> dict[str, str]:
        """The non-default parameters of this query (with `changes`), for links and exports."""
        values = {
            "q": self.q,
            "status": self.status,
            "department": self.department,
            "severity": self.severity,
            "product": self.product,
            "branch": self.branch,
            "channel": self.channel,
            "month": self.month,
            "breach": self.breach,
            "sort": self.sort,
            "page": str(self.page),
        } | {key: str(value) for key, value in changes.items()}
        defaults = {"status": "open", "sort": "newest", "page": "1"}
        return {key: value for key, value in values.items() if value and value != defaults.get(key)}


def _month_bounds(month: str, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The instants a `YYYY-MM` month starts and ends at in `zone`, or None if it is no month."""
    year_text, dash, month_text = month.partition("-")
    if not (dash and year_text.isdigit() and month_text.isdigit() and len(year_text) == 4):
        return None
    year, number = int(year_text), int(month_text)
    if not 1 <= number <= 12:
        return None
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return (
        datetime.combine(first, time(), zone),
        datetime.combine(following, time(), zone),
    )


@dataclass(frozen=True, slots=True)
class Lookup:
    """A query as it runs: by whom (their scope), at what time, in which time zone."""

    query: Query
    scope: Scope
    now: datetime
    zone: tzinfo

    def conditions(self, index: str = "", *, many: bool = False) -> list[ColumnElement[bool]]:
        """What a ticket must be to be shown; `index` is the search index there is (`search_index`).

        `many`: the search matches many tickets (SQLite): then the page is found by walking the
        sort's index and asking the search about each ticket, not by sorting every match."""
        query: Query = self.query
        found: list[ColumnElement[bool]] = []
        if self.scope.departments is not None:
            found.append(col(Ticket.department).in_(sorted(self.scope.departments)))
        found.extend(self._status())
        for attribute, value in (
            (Ticket.department, query.department),
            (Ticket.severity, query.severity),
            (Ticket.product, query.product),
            (Ticket.channel, query.channel),
        ):
            if value:
                found.append(col(attribute) == value)
        if query.branch:
            found.append(col(Ticket.origin) == f"branch:{query.branch}")
        if query.month and (bounds := _month_bounds(query.month, self.zone)) is not None:
            found.append(col(Ticket.received_at) >= bounds[0])
            found.append(col(Ticket.received_at) < bounds[1])
        found.extend(self._breach())
        if query.q:
            found.append(self._search(index, many))
        return found

    def _pattern(self) -> str:
        """The words as a LIKE pattern matching them anywhere, lower-cased."""
        return "%" + _escape_like(self.query.q.lower()) + "%"

    def _plain_search(self) -> ColumnElement[bool]:
        """The words as a substring of any searched column, ignoring case: what every index answers."""
        pattern = self._pattern()
        return or_(*(func.lower(col(c)).like(pattern, escape="\\") for c in SEARCHED))

    def _search(self, index: str, many: bool) -> ColumnElement[bool]:
        words = self.query.q
        each = self._plain_search()
        if len(words) < MIN_INDEXED or not index:
            return each
        if index == FTS5:
            matched = _fts5_matches(words, each)
            # `id + 0` is no longer the rowid: SQLite cannot start from the matches with it.
            return (col(Ticket.id) + 0 if many else col(Ticket.id)).in_(matched)
        # The columns are joined by line breaks, which a search box never sends: a match of the
        # joined text is a match of one column. Words with a line break are checked column by column.
        joined = JOINED.like(self._pattern(), escape="\\")
        return and_(joined, each) if SEPARATOR in words else joined

    def counted(self, index: str) -> Select[Any]:
        """How many tickets match, up to `COUNT_CAP` + 1: from the FTS5 table alone when the search
        is all there is to it. Past the cap the database stops looking (the page says "more than")."""
        unfiltered = replace(
            self.query, status="all", department="", severity="", product="", branch="", channel=""
        )
        unfiltered = replace(unfiltered, month="", breach="")
        alone = self.scope.departments is None and unfiltered == self.query
        matches: Select[Any] | CompoundSelect
        if index == FTS5 and len(self.query.q) >= MIN_INDEXED and alone:
            matches = _fts5_matches(self.query.q, self._plain_search())
        else:
            matches = select(literal(1)).select_from(Ticket).where(*self.conditions(index))
        return select(func.count()).select_from(matches.limit(COUNT_CAP + 1).subquery())

    def _status(self) -> list[ColumnElement[bool]]:
        status = self.query.status
        if status == "open":
            # Inline, as the partial indexes on open tickets say it (`daemon.store.models.OPEN_TICKETS`):
            # only then do the databases use them.
            closed: BindParameter[tuple[str, ...]] = bindparam(
                "closed", CLOSED_STATUSES, expanding=True, literal_execute=True
            )
            return [col(Ticket.status).not_in(closed)]
        if status == "closed":
            return [col(Ticket.status).in_(CLOSED_STATUSES)]
        if status == "all":
            return []
        return [col(Ticket.status) == status]

    def _breach(self) -> list[ColumnElement[bool]]:
        now = literal(self.now, type_=Ticket.__table__.c.received_at.type)  # type: ignore[attr-defined]
        first = and_(
            col(Ticket.first_response_due).is_not(None),
            col(Ticket.first_response_due) < func.coalesce(col(Ticket.first_responded_at), now),
        )
        resolution = and_(
            col(Ticket.resolution_due).is_not(None),
            col(Ticket.resolution_due) < func.coalesce(col(Ticket.completed_at), now),
        )
        return {
            "": [],
            "any": [or_(first, resolution)],
            "first_response": [first],
            "resolution": [resolution],
        }[self.query.breach]

    def statement(self, index: str = "") -> Select[Any]:
        return select(Ticket).where(*self.conditions(index)).order_by(*SORTS[self.query.sort])


def search_index(session: Session) -> str:
    """The search index this database has: `FTS5`, `TRIGRAM`, or '' (none: the LIKE reads every ticket)."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        found = session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ticket_search'")
        ).first()
        return FTS5 if found else ""
    if bind.dialect.name == "postgresql":
        found = session.execute(text("SELECT to_regclass('ix_ticket_search') IS NOT NULL")).scalar_one()
        return TRIGRAM if found else ""
    return ""


def _fts5_matches(words: str, each: ColumnElement[bool]) -> CompoundSelect:
    """The ids of the tickets matching `words`: the index's matches and the queued tickets' (0011).

    A ticket inserted since the last catch-up is only in the queue; the plain search finds it
    there, among the few queued tickets, so the register never misses one while it waits."""
    indexed = select(SEARCH_TABLE.c.rowid).where(_fts5_match(words))
    queued = select(QUEUE_TABLE.c.id).join(Ticket, col(Ticket.id) == QUEUE_TABLE.c.id).where(each)
    return union(indexed, queued)


def _fts5_match(words: str) -> ColumnElement[bool]:
    """`ticket_search MATCH` the phrase `words`: in one FTS5 string every character is literal,
    and a phrase matches within one column."""
    return literal_column("ticket_search").op("MATCH")('"' + words.replace('"', '""') + '"')


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True, slots=True)
class Page:
    tickets: list[Ticket]
    total: int
    page: int
    size: int = PAGE_SIZE
    capped: bool = False
    """More than `total` (= `COUNT_CAP`) match; how many more was not counted."""

    @property
    def pages(self) -> int:
        known = max(1, -(-self.total // self.size))
        return max(known, self.page + (len(self.tickets) == self.size)) if self.capped else known

    @property
    def first(self) -> int:
        return 0 if not self.tickets else (self.page - 1) * self.size + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + len(self.tickets)


def one_page(session: Session, lookup: Lookup) -> Page:
    """The page of tickets `lookup` asks for, and how many match in all (up to `COUNT_CAP`)."""
    index = search_index(session)
    conditions = lookup.conditions(index)
    counted = int(session.execute(lookup.counted(index)).scalar_one())
    capped = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    page = lookup.query.page if capped else min(lookup.query.page, max(1, -(-total // PAGE_SIZE)))
    if total > MANY:
        conditions = lookup.conditions(index, many=True)
    statement = (
        select(Ticket)
        .where(*conditions)
        .order_by(*SORTS[lookup.query.sort])
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return Page(list(session.execute(statement).scalars()), total, page, size=PAGE_SIZE, capped=capped)


def every_row(session: Session, lookup: Lookup, *, batch: int = 500) -> Iterator[Ticket]:
    """Every ticket `lookup` matches, in its order, read `batch` rows at a time (for the exports)."""
    statement = lookup.statement(search_index(session)).execution_options(yield_per=batch)
    yield from session.execute(statement).scalars()


MENUS = ("department", "severity", "product", "channel")
"""The filter menus that offer a column's values (`branch` offers the branches of `origin`)."""
BRANCH = "branch:"
AFTER_BRANCHES = "branch;"
"""The first text after every `branch:...` origin (';' follows ':')."""


def choices(session: Session, scope: Scope) -> dict[str, list[str]]:
    """The values the filter menus offer: those the visible tickets have."""
    found: dict[str, list[str]] = {}
    if scope.departments is None:
        for name in MENUS:
            found[name] = _distinct(session, name)
        branches = _distinct(session, "origin", after=BRANCH, before=AFTER_BRANCHES)
    else:
        visible = col(Ticket.department).in_(sorted(scope.departments))
        for name in MENUS:
            column = col(getattr(Ticket, name))
            statement = select(column).where(visible).distinct().order_by(column)
            found[name] = [str(value) for value in session.execute(statement).scalars() if value]
        origins = select(col(Ticket.origin)).where(visible, col(Ticket.origin).like(BRANCH + "%")).distinct()
        branches = [str(origin) for origin in session.execute(origins).scalars()]
    found["branch"] = sorted(branch for origin in branches if (branch := origin.removeprefix(BRANCH)))
    return found


def _distinct(session: Session, name: str, *, after: str = "", before: str | None = None) -> list[str]:
    """The values of column `name` between `after` and `before` (both left out), in order, found by
    hopping along the column's index from each value to the next: a few look-ups per value, where
    DISTINCT reads every ticket. '' and NULL are never among them."""
    assert name in (*MENUS, "origin"), name
    bound = f" AND {name} < :before" if before is not None else ""
    statement = text(
        f"WITH RECURSIVE hop(value) AS ("
        f"SELECT (SELECT min({name}) FROM ticket WHERE {name} > :after{bound}) "
        f"UNION ALL SELECT (SELECT min({name}) FROM ticket WHERE {name} > hop.value{bound}) "
        f"FROM hop WHERE hop.value IS NOT NULL) "
        f"SELECT value FROM hop WHERE value IS NOT NULL"
    )
    values = {"after": after} | ({"before": before} if before is not None else {})
    return [str(value) for value in session.execute(statement, values).scalars()]


def moment(day: date, zone: tzinfo) -> datetime:
    """Midnight at the start of `day` in `zone`."""
    return datetime.combine(day, time(), zone)


def tomorrow_end(now: datetime, zone: tzinfo) -> datetime:
    """The end of tomorrow in `zone`: what the SLA board calls "due soon"."""
    return moment(now.astimezone(zone).date() + timedelta(days=2), zone)
