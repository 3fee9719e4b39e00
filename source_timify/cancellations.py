"""Cancelled appointments: TIMIFY deletes an appointment when it is cancelled, so an incremental
sync would never hear of it. CompanyCursor keeps, per company, the ids of the upcoming appointments
(dated from UPCOMING_DAYS_BACK days before the sync to the end of the range) that the sync saw; the
next complete read of that company asks TIMIFY about every tracked id it no longer sees, and emits
a deletion record for each one TIMIFY no longer has (the bookkeeping: cancellation_tracking.py).

- SeenAppointments: the upcoming appointments one partition saw (told by records.ObserveUpcoming).
- encode_ids / decode_ids: the tracked ids as they are kept in the state, compactly.
- CancelledAppointments: confirms missing ids with TIMIFY and makes the deletion records.
- deletion_message: one deletion record, for any stream (deleted customers, deletion_tracking.py).
"""

import base64
import json
import logging
import time
import zlib
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, Type

from source_timify.auth import TimifyAuthenticator
from source_timify.client import Retries, TimifyClient
from source_timify.session import TimifySession
from source_timify.timify import DELETED_AT, answer_text, base_url, iso_seconds, json_object

logger = logging.getLogger("airbyte")

UPCOMING_DAYS_BACK = 31
LOOKUP_BATCH = 100  # ids per confirmation request (about 2.5 KB of URL)
LOOKUP_ATTEMPTS = 5


class SeenAppointments:
    """The (id, UTC date) of every appointment one partition read dated on or after `since`
    (YYYY-MM-DD). One partition is read by one thread, so no lock."""

    __slots__ = ("since", "found")

    def __init__(self, since: str) -> None:
        self.since = since
        self.found: List[Tuple[str, str]] = []

    def add(self, record: Mapping[str, Any]) -> None:
        start, record_id = record.get("startDate"), record.get("id")
        if isinstance(start, str) and isinstance(record_id, str) and start[:10] >= self.since:
            self.found.append((record_id, start[:10]))


# ----- the ids in the state ---------------------------------------------------------------------
# TIMIFY's ids are MongoDB ObjectIds: 4 bytes of creation time, 5 bytes that are the same for every
# id one server process makes, 3 bytes of that process's counter. Grouped by the 5-byte part and
# sorted by time, both the times and the counters grow by small steps: kept as three columns (the
# 5-byte parts, time steps and counter steps as zigzag varints) they compress to 2-5 bytes an id,
# base64 included. Ids that are not 24 lowercase hex characters are kept apart, as JSON text.


def _varint(value: int, out: bytearray) -> None:
    value = (value << 1) ^ (value >> 63)  # zigzag: small negative steps stay small
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode_ids(ids: Iterable[str]) -> str:
    hex_ids: Set[str] = set()
    other: Set[str] = set()
    for value in ids:
        (hex_ids if len(value) == 24 and _is_hex(value) else other).add(value)
    binary = sorted((bytes.fromhex(value) for value in hex_ids), key=lambda raw: (raw[4:9], raw[:4], raw[9:]))
    middles, times, counters = bytearray(), bytearray(), bytearray()
    previous_middle, previous_time, previous_counter = None, 0, 0
    for raw in binary:
        if raw[4:9] != previous_middle:
            previous_middle, previous_time, previous_counter = raw[4:9], 0, 0
        stamp, counter = int.from_bytes(raw[:4], "big"), int.from_bytes(raw[9:], "big")
        _varint(stamp - previous_time, times)
        _varint(counter - previous_counter, counters)
        previous_time, previous_counter = stamp, counter
        middles += raw[4:9]
    header = bytearray()
    text = json.dumps(sorted(other)).encode() if other else b""
    _varint(len(binary), header)
    _varint(len(text), header)
    packed = bytes(header) + bytes(middles) + bytes(times) + bytes(counters) + text
    return base64.b64encode(zlib.compress(packed, 9)).decode("ascii")


def decode_ids(encoded: str) -> List[str]:
    if not encoded:
        return []
    data = zlib.decompress(base64.b64decode(encoded))
    position = 0

    def varint() -> int:
        nonlocal position
        shift = value = 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return (value >> 1) ^ -(value & 1)
            shift += 7

    count, text_length = varint(), varint()
    middles = [data[position + 5 * k : position + 5 * k + 5] for k in range(count)]
    position += 5 * count
    stamps = [varint() for _ in range(count)]
    steps = [varint() for _ in range(count)]
    ids, previous_middle, stamp, counter = [], None, 0, 0
    for middle, stamp_step, counter_step in zip(middles, stamps, steps, strict=True):
        if middle != previous_middle:
            previous_middle, stamp, counter = middle, 0, 0
        stamp, counter = stamp + stamp_step, counter + counter_step
        ids.append((stamp.to_bytes(4, "big") + middle + counter.to_bytes(3, "big")).hex())
    text = data[position : position + text_length]
    return ids + (json.loads(text) if text else [])


def _is_hex(value: str) -> bool:
    """Lowercase hex only: an id in another spelling is kept as it is, apart."""
    return all(character in "0123456789abcdef" for character in value)


# ----- deletion records -------------------------------------------------------------------------


def deletion_message(stream_name: str, key: Mapping[str, Any], now: str) -> AirbyteMessage:
    """The deletion record of the record whose primary key fields are `key` (e.g. `company_id` and
    `id`): those fields, `updatedAt` and `_ab_cdc_deleted_at`, both `now` (the sync's time on
    TIMIFY's clock, ISO-8601 UTC seconds), so that the record is the latest of its key."""
    data = {**key, "updatedAt": now, DELETED_AT: now}
    return AirbyteMessage(
        type=Type.RECORD,
        record=AirbyteRecordMessage(stream=stream_name, data=data, emitted_at=int(time.time() * 1000)),
    )


# ----- confirming with TIMIFY -------------------------------------------------------------------


class CancelledAppointments:
    """For one company read completely: the tracked ids it no longer saw are asked of TIMIFY
    (`GET /v1/appointments?ids=...`, no dates needed); those TIMIFY no longer has were cancelled
    (deleted) and get a deletion record; those it still has were moved (out of the range, or
    within it while the sync ran: the next sync emits those as updates). An id TIMIFY could not be
    asked about stays tracked, to be asked next time: a deletion is never guessed."""

    def __init__(self, config: Mapping[str, Any], stream_name: str, session: TimifySession) -> None:
        self._config = config
        self._stream_name = stream_name
        self._session = session

    def check(
        self, company: str, missing: Set[str], upcoming_from: str, range_to: str
    ) -> Tuple[List[AirbyteMessage], Set[str]]:
        """For the tracked ids of `company` this sync did not see: the deletion record messages,
        and the ids to keep tracking (those still upcoming, and those TIMIFY could not be asked
        about)."""
        deleted: List[str] = []
        still_upcoming: Set[str] = set()
        ordered = sorted(missing)
        for start in range(0, len(ordered), LOOKUP_BATCH):
            batch = ordered[start : start + LOOKUP_BATCH]
            found = self._lookup(company, batch)
            if found is None:
                still_upcoming.update(batch)
                continue
            deleted += [appointment_id for appointment_id in batch if appointment_id not in found]
            still_upcoming.update(
                appointment_id
                for appointment_id, day in found.items()
                if appointment_id in batch and upcoming_from <= day <= range_to
            )
        if deleted:
            logger.info(
                f"{len(deleted)} upcoming appointment(s) of company {company} were cancelled (deleted in TIMIFY)."
            )
        now = iso_seconds(self._session.clock.now())
        deletions = [
            deletion_message(self._stream_name, {"company_id": company, "id": appointment_id}, now)
            for appointment_id in deleted
        ]
        return deletions, still_upcoming

    def _lookup(self, company: str, ids: List[str]) -> Optional[Dict[str, str]]:
        """The ids among `ids` that TIMIFY still has, with their UTC dates, or None if it could
        not be asked."""
        authenticator = TimifyAuthenticator(config=self._config, parameters={}, session=self._session)
        url = f"{base_url(self._config)}/v1/appointments"
        params = {"ids": ",".join(ids), "page": 1, "limit": len(ids)}
        headers = {"company-id": company, "accept": "application/json"}
        # The client's rules, except that a 200 whose `data` is not a list is an answer (not
        # asked again), and the last failed try is still waited after, as it always was.
        retries = Retries(attempts=LOOKUP_ATTEMPTS, retry_unreadable=False)
        response = (
            TimifyClient(self._session, authenticator, retries)
            .send("GET", url, params=params, headers=headers, timeout=60)
            .response
        )
        body = json_object(response)
        data = body.get("data") if body is not None else None
        if isinstance(data, list):
            found = {
                record["id"]: str(record.get("startDate") or "")[:10]
                for record in data
                if isinstance(record, dict) and "id" in record
            }
            if set(found) <= set(ids):
                return found
            # An appointment not asked for: the server ignored `ids`, and its answer says
            # nothing of those asked (reading it as "gone" would report false cancellations).
            logger.warning(
                f"TIMIFY answered the lookup of {len(ids)} appointment(s) of company {company} with others "
                "it was not asked about (it seems to ignore `ids`): no cancellation is reported; the next "
                "sync asks again."
            )
            return None
        status = answer_text(response)
        logger.warning(
            f"Could not ask TIMIFY whether {len(ids)} appointment(s) of company {company} were cancelled "
            f"({status}); the next sync asks again."
        )
        return None
