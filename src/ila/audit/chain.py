"""The hash chain of ``audit_events``: append under a lock, and walk it back to find tampering.

Every entry gets the next sequence number (1, 2, 3… without gaps) and
``entry_hash = SHA-256(prev_hash + "\\n" + canonical JSON of its fields)``, where ``prev_hash``
is the previous entry's hash (64 zeros for the first). Changing, inserting or deleting a row
therefore breaks either a hash, a link or the numbering; :func:`verify_chain` reports the first
such place. Appends lock the one-row ``audit_chain_head`` in the writing transaction, so two
concurrent transactions cannot both take the same ``seq``: the second waits for the first to
commit or roll back (PostgreSQL row lock; on SQLite the database write lock, taken first by a
no-op ``UPDATE``). See docs/audit.md and ADR 0010."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ila.audit.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
FORMAT = "ila-audit-v1"

HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "organisation",
    "on_behalf_of",
    "action",
    "resource",
    "subject_national_number",
    "request_id",
    "legal_context",
    "details",
)
"""What an entry's hash covers: every column except ``id`` (a surrogate key) and the hashes."""


def canonical_json(value: object) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (orjson; a JSON profile close
    to RFC 8785 for the values the audit stores: strings, integers, booleans, null, lists,
    maps with string keys)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def normalise_details(details: Mapping[str, object]) -> dict[str, Any]:
    """``details`` as the database gives it back (tuples become lists), so the hash computed
    on write is the hash recomputed on read."""
    loaded: dict[str, Any] = orjson.loads(canonical_json(dict(details)))
    return loaded


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of one entry: its predecessor's hash and its own canonical fields."""
    document = {name: fields[name] for name in HASHED_FIELDS}
    document["occurred_at"] = _timestamp(fields["occurred_at"])
    document["format"] = FORMAT
    digest = hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_json(document))
    return digest.hexdigest()


# Core statements built once (appends run in every audited request): no ORM bulk machinery
_HEAD: Table = AuditChainHead.__table__  # type: ignore[assignment]
_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
_LOCK_SQLITE = (  # takes SQLite's write lock with the read
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq)
    .returning(_HEAD.c.seq, _HEAD.c.entry_hash)
)
_LOCK_POSTGRESQL = (  # a row lock, held until the transaction ends
    select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == 1).with_for_update()
)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)
_INSERT_EVENTS = insert(_EVENTS)


def lock_head(session: Session) -> tuple[int, str]:
    """Lock the chain head for the rest of the transaction and return (seq, hash). On SQLite
    the lock is taken by a (no-op) write: a deferred transaction that only read the head would
    race another writer to upgrade its shared lock."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    row = session.execute(_LOCK_SQLITE if sqlite else _LOCK_POSTGRESQL).first()
    if row is None:
        # no head row (a schema not built by the migrations, or the row deleted): continue
        # after the last stored entry rather than refusing every audited request; verify
        # still checks every row
        last = session.execute(
            select(_EVENTS.c.seq, _EVENTS.c.entry_hash).order_by(_EVENTS.c.seq.desc()).limit(1)
        ).first()
        seq, digest = (0, GENESIS) if last is None else (last.seq, last.entry_hash)
        session.execute(insert(_HEAD).values(id=1, seq=seq, entry_hash=digest))
        return seq, digest
    return row.seq, row.entry_hash


def append_entries(session: Session, entries: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert audit entries at the end of the chain, in the session's transaction; returns
    their ``seq``. Each mapping has the columns of :class:`AuditEvent` except ``id`` and the
    chain columns. This is the only way rows enter ``audit_events``."""
    if not entries:
        return []
    seq, prev = lock_head(session)
    rows: list[dict[str, Any]] = []
    normalised: dict[int, dict[str, Any]] = {}  # a list read shares one details dict
    for entry in entries:
        seq += 1
        row = {name: entry.get(name) for name in HASHED_FIELDS if name != "seq"}
        details = entry.get("details") or {}
        if id(details) not in normalised:
            normalised[id(details)] = normalise_details(details)
        row["details"] = normalised[id(details)]
        row["seq"] = seq
        row["prev_hash"] = prev
        prev = row["entry_hash"] = entry_hash(prev, row)
        rows.append(row)
    session.execute(_INSERT_EVENTS, rows)
    session.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    return [r["seq"] for r in rows]


# --- deferred appends: chained and committed in one round trip -----------------------------

PENDING = "ila.audit.pending"
"""``session.info`` key of the entries a request defers to its commit (see
:func:`defer_appends`)."""


def defer_appends(session: Session) -> None:
    """From now on, :func:`append_or_defer` keeps this session's entries until
    :func:`append_deferred` chains them, in the same transaction, just before it commits."""
    session.info[PENDING] = []


def append_or_defer(session: Session, entries: Sequence[Mapping[str, Any]]) -> None:
    """Append now (:func:`append_entries`), or keep the entries for the commit when the
    session's owner asked for it (:func:`defer_appends`)."""
    pending: list[Mapping[str, Any]] | None = session.info.get(PENDING)
    if pending is None:
        append_entries(session, entries)
    else:
        pending.extend(entries)


def _hash_parts(fields: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The canonical document of an entry split around its ``seq``: the hashed bytes are
    ``prefix + str(seq) + suffix``. ``seq`` sorts last but one; only
    ``subject_national_number`` (a string or null) follows it, so the last ``"seq":`` of the
    document is the entry's own."""
    document = {name: fields[name] for name in HASHED_FIELDS if name != "seq"}
    document["seq"] = 0
    document["occurred_at"] = _timestamp(fields["occurred_at"])
    document["format"] = FORMAT
    text = canonical_json(document)
    head, marker, tail = text.rpartition(b'"seq":0')
    if not marker or not tail.startswith((b',"subject_national_number":', b"}")):
        raise AssertionError("unexpected canonical document")  # pragma: no cover
    return head + b'"seq":', tail


# One statement that locks the head, chains the entries from it (SHA-256 in PostgreSQL over
# the same bytes as entry_hash), inserts them and moves the head; it fails (division by zero)
# rather than commit fewer entries than given. Each step of the chain takes its entry from
# the JSON array by position (jsonb: direct access), so the cost grows with the entries, not
# with their square (a join to the entries' rows scanned them all at every step). Sent with
# COMMIT in one pipeline, so the head stays locked only while the server runs it and flushes
# the commit.
APPEND_POSTGRESQL = """
WITH RECURSIVE
head AS (SELECT seq, entry_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE),
start AS (
    SELECT seq, entry_hash FROM head
    UNION ALL
    SELECT * FROM (
        SELECT seq, entry_hash FROM audit_events ORDER BY seq DESC LIMIT 1
    ) AS last_entry WHERE NOT EXISTS (SELECT 1 FROM head)
    UNION ALL
    SELECT 0, repeat('0', 64)
    WHERE NOT EXISTS (SELECT 1 FROM head) AND NOT EXISTS (SELECT 1 FROM audit_events)
),
e AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset(%(entries)s::jsonb) AS (
        occurred_at timestamptz, actor varchar, organisation varchar, on_behalf_of varchar,
        action varchar, resource varchar, subject_national_number varchar, request_id varchar,
        legal_context varchar, details jsonb, prefix text, suffix text
    )) WITH ORDINALITY AS e(
        occurred_at, actor, organisation, on_behalf_of, action, resource,
        subject_national_number, request_id, legal_context, details, prefix, suffix, n
    )
),
document AS (SELECT %(entries)s::jsonb AS entries),
chain (n, seq, prev_hash, entry_hash) AS (
    SELECT 0::bigint, seq, NULL::varchar, entry_hash::varchar FROM start
    UNION ALL
    SELECT c.n + 1, c.seq + 1, c.entry_hash, encode(sha256(convert_to(
        c.entry_hash || E'\n' || (d.entries -> c.n::int ->> 'prefix') || (c.seq + 1)::text
        || (d.entries -> c.n::int ->> 'suffix'), 'UTF8'
    )), 'hex')::varchar
    FROM chain AS c CROSS JOIN document AS d WHERE c.n < %(n)s
),
inserted AS (
    INSERT INTO audit_events (
        occurred_at, actor, organisation, on_behalf_of, action, resource,
        subject_national_number, request_id, legal_context, details, seq, prev_hash, entry_hash
    )
    SELECT e.occurred_at, e.actor, e.organisation, e.on_behalf_of, e.action, e.resource,
        e.subject_national_number, e.request_id, e.legal_context, e.details,
        c.seq, c.prev_hash, c.entry_hash
    FROM e JOIN chain AS c ON c.n = e.n
    RETURNING seq
),
moved AS (
    INSERT INTO audit_chain_head (id, seq, entry_hash)
    SELECT 1, seq, entry_hash FROM chain ORDER BY n DESC LIMIT 1
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, entry_hash = excluded.entry_hash
    RETURNING seq
)
SELECT 1 / ((SELECT count(*) FROM inserted) = %(n)s AND (SELECT count(*) FROM moved) = 1)::int
"""


def pipeline_parameters(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The parameters of :data:`APPEND_POSTGRESQL`: the entries as one JSON document (one
    parameter to send, whatever their number), each with the two halves of its hashed text."""
    rows = []
    normalised: dict[int, dict[str, Any]] = {}
    for entry in entries:
        details = entry.get("details") or {}
        if id(details) not in normalised:
            normalised[id(details)] = normalise_details(details)
        fields = {name: entry.get(name) for name in HASHED_FIELDS if name != "seq"}
        fields["details"] = normalised[id(details)]
        prefix, suffix = _hash_parts(fields)
        rows.append(
            {
                **fields,
                "occurred_at": _timestamp(cast(datetime, fields["occurred_at"])),
                "prefix": prefix.decode(),
                "suffix": suffix.decode(),
            }
        )
    return {"entries": orjson.dumps(rows).decode(), "n": len(entries)}


def append_deferred(session: Session) -> None:
    """The last step of a transaction before its commit: flush the session and chain the
    entries deferred by :func:`defer_appends`.

    On PostgreSQL (psycopg) the append is one statement sent together with ``COMMIT`` in a
    pipeline: one round trip, and no Python code runs while the chain head is locked, so
    audited transactions queue on the head only for the server's own work (the statement and
    the commit's WAL flush). The database transaction is then committed: the caller's own
    commit, which must follow at once, finds nothing left to do. Elsewhere the entries are
    appended with :func:`append_entries` (head locked until the caller's commit, as for any
    immediate append)."""
    pending: list[Mapping[str, Any]] = session.info.pop(PENDING, None) or []
    session.flush()
    if not pending:
        return
    connection = session.connection()
    # the pipelined commit ends the database transaction: only for a session that owns it
    # (inside a savepoint of someone else's transaction — a test's — the entries are appended)
    own = not connection.in_nested_transaction()
    if own and connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        from psycopg import Connection  # noqa: PLC0415 - PostgreSQL only

        driver = cast(Connection[Any], connection.connection.driver_connection)
        parameters = pipeline_parameters(pending)
        with driver.pipeline():
            driver.execute(APPEND_POSTGRESQL, parameters, prepare=False)
            driver.commit()
        return
    append_entries(session, pending)


def chain_head(session: Session) -> tuple[int, str]:
    """The last ``seq`` and hash as the head row records them (no lock)."""
    row = session.execute(
        select(AuditChainHead.seq, AuditChainHead.entry_hash).where(AuditChainHead.id == 1)
    ).first()
    return (0, GENESIS) if row is None else (row.seq, row.entry_hash)


def chain_base(session: Session) -> tuple[int, str]:
    """Where the chain starts: the last entry retention destroyed (``seq``, hash), or
    ``(0, GENESIS)`` when nothing was ever destroyed."""
    row = session.execute(
        select(AuditChainHead.base_seq, AuditChainHead.base_hash).where(AuditChainHead.id == 1)
    ).first()
    return (0, GENESIS) if row is None else (row.base_seq, row.base_hash)


def names_base(fields: Mapping[str, Any], base_seq: int, base_hash: str) -> bool:
    """Whether an entry is the proof of the destruction that moved the chain's base there."""
    details = fields.get("details") or {}
    return (
        fields.get("resource") == "retention"
        and fields.get("action") == "destroy"
        and details.get("base_seq") == base_seq
        and details.get("base_hash") == base_hash
    )


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """One place where the stored chain differs from an intact one. ``seq`` is the position
    in the chain; ``entry_id`` the row's ``id`` when there is a row (not for a deleted one)."""

    seq: int
    kind: str  # altered | deleted | inserted | head | checkpoint
    message: str
    entry_id: int | None = None

    def describe(self) -> str:
        row = f" (id {self.entry_id})" if self.entry_id is not None else ""
        return f"entry seq {self.seq}{row}: {self.kind}: {self.message}"


@dataclass(slots=True)
class ChainReport:
    entries: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> ChainProblem | None:
        # at one position, the structural finding (a row missing or added) explains the others
        rank = {"deleted": 0, "inserted": 1, "altered": 2, "head": 3, "checkpoint": 4}
        return min(self.problems, key=lambda p: (p.seq, rank[p.kind])) if self.problems else None


@dataclass(frozen=True, slots=True)
class Anchor:
    """A checkpoint already proven authentic: the chain must hold ``entry_hash`` at ``seq``."""

    seq: int
    entry_hash: str
    checkpoint_id: int


def verify_chain(
    session: Session, anchors: Iterable[Anchor] = (), *, batch: int = 2000
) -> ChainReport:
    """Walk the whole chain in ``seq`` order, recompute every hash and link, compare the end
    with the head row and every anchor (authentic checkpoint). After a problem the walk
    resynchronises on the stored row, so every broken place is listed; the first is the one
    to investigate."""
    report = ChainReport()
    anchors = list(anchors)
    base_seq, base_hash = chain_base(session)
    # a chain whose oldest part retention destroyed starts after a signed checkpoint, and an
    # entry of the chain proves that destruction (ila.audit.pruning)
    base_anchored = base_seq == 0 or any(
        a.seq == base_seq and a.entry_hash == base_hash for a in anchors
    )
    base_proven = base_seq == 0
    pending = {a.seq: a for a in anchors if a.seq > base_seq}
    expected, prev = base_seq + 1, base_hash
    before: tuple[int, int, str] | None = None  # the previous row's seq, id, prev_hash
    columns = [AuditEvent.id, AuditEvent.prev_hash, AuditEvent.entry_hash] + [
        getattr(AuditEvent, name) for name in HASHED_FIELDS
    ]
    result = session.execute(
        select(*columns)
        .where(AuditEvent.seq > base_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    for row in result:
        report.entries += 1
        fields: Mapping[str, Any] = dict(row._mapping)
        base_proven = base_proven or names_base(fields, base_seq, base_hash)
        if row.seq > expected:
            if row.prev_hash == prev:
                report.problems.append(
                    ChainProblem(
                        expected,
                        "inserted",
                        f"row numbered {row.seq} follows "
                        f"seq {expected - 1} directly (renumbered or inserted)",
                        row.id,
                    )
                )
            else:
                last = f"–{row.seq - 1}" if row.seq - 1 > expected else ""
                report.problems.append(
                    ChainProblem(expected, "deleted", f"entries {expected}{last} are missing")
                )
        elif row.prev_hash != prev and before is not None and row.prev_hash == before[2]:
            # two rows claim the same predecessor: the one before this was slipped in
            report.problems.append(
                ChainProblem(
                    before[0],
                    "inserted",
                    f"entry {row.seq} links past it to entry {before[0] - 1}",
                    before[1],
                )
            )
        elif row.prev_hash != prev:
            report.problems.append(
                ChainProblem(
                    row.seq,
                    "inserted",
                    "does not link to the entry before it "
                    "(replaced, or inserted in place of another)",
                    row.id,
                )
            )
        if entry_hash(row.prev_hash, fields) != row.entry_hash:
            report.problems.append(
                ChainProblem(row.seq, "altered", "its content does not match its hash", row.id)
            )
        anchor = pending.pop(row.seq, None)
        if anchor is not None and anchor.entry_hash != row.entry_hash:
            report.problems.append(
                ChainProblem(
                    row.seq,
                    "altered",
                    f"differs from signed checkpoint "
                    f"{anchor.checkpoint_id} (the chain up to here was rewritten)",
                    row.id,
                )
            )
        expected, prev = row.seq + 1, row.entry_hash
        before = (row.seq, row.id, row.prev_hash)
    report.last_seq = expected - 1
    _check_end(session, report, prev, pending)
    if not (base_anchored and base_proven):
        why = "no authentic checkpoint signs it" if not base_anchored else "no proof entry names it"
        report.problems.append(
            ChainProblem(
                base_seq,
                "deleted",
                f"the chain starts after entry {base_seq} but {why} "
                "(entries destroyed outside the retention job)",
            )
        )
    return report


def _check_end(
    session: Session, report: ChainReport, prev: str, pending: Mapping[int, Anchor]
) -> None:
    """The end of the walk against the head row, and the checkpoints beyond it."""
    head_seq, head_hash = chain_head(session)
    if head_seq > report.last_seq:
        report.problems.append(
            ChainProblem(
                report.last_seq + 1, "deleted", f"the chain head says the chain ends at {head_seq}"
            )
        )
    elif head_seq < report.last_seq:
        report.problems.append(
            ChainProblem(
                head_seq + 1,
                "inserted",
                f"beyond the chain head ({head_seq}): appended outside the application",
            )
        )
    elif head_hash != prev:
        report.problems.append(
            ChainProblem(head_seq, "head", "the chain head records another hash for this entry")
        )
    for anchor in pending.values():  # checkpoints beyond the end of the chain
        report.problems.append(
            ChainProblem(
                anchor.seq,
                "deleted",
                f"signed checkpoint {anchor.checkpoint_id} covers an entry that is no longer there",
            )
        )
