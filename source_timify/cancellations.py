"""What every deletion tracking shares (deletion_tracking.ListedIds, for cancelled appointments,
deleted customers and deleted enterprise customers): the tracked ids as they are kept in the state
(encode_ids / decode_ids, compactly), a state entry of 0.4.0 or older read as today's
(listed_ids_of), and the deletion record of a record TIMIFY deleted (deletion_message).

TIMIFY deletes an appointment when it is cancelled or cleaned up, and a customer on request (GDPR
erasure), and no list says so (docs/timify.md, "Deletions and erasure").
"""

import base64
import json
import re
import time
import zlib
from typing import Any, Iterable, List, Mapping, Set

from airbyte_cdk.models import AirbyteMessage, AirbyteRecordMessage, Type

from source_timify.timify import DELETED_AT

LOOKUP_BATCH = 100  # ids per request of a lookup by id (about 2.5 KB of URL)
LOOKUP_ATTEMPTS = 5

LISTED_IDS = "listed_ids"  # the tracked ids, in a company's state entry beside the cursor's
# 0.4.0 and older tracked the upcoming appointments only (from 31 days before the sync) under these
UPCOMING_FROM, UPCOMING_IDS = "upcoming_from", "upcoming_ids"


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
    # By 5-byte part, then time, then counter: the rearranged 12 bytes compared as they are.
    binary = sorted((bytes.fromhex(value) for value in hex_ids), key=lambda raw: raw[4:9] + raw)
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


_LOWERCASE_HEX = re.compile("[0-9a-f]*")


def _is_hex(value: str) -> bool:
    """Lowercase hex only: an id in another spelling is kept as it is, apart."""
    return _LOWERCASE_HEX.fullmatch(value) is not None


def listed_ids_of(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """A company's state entry with its tracked ids under `listed_ids`. An appointments entry of
    0.4.0 or older tracked the upcoming ones under `upcoming_ids`: they become the tracked ids, so
    a cancellation made since that sync is still asked about (older appointments are tracked from
    this sync on). An entry without either is returned as it is: the tracking starts."""
    if LISTED_IDS in entry or not isinstance(entry.get(UPCOMING_IDS), str):
        return entry
    migrated = {key: value for key, value in entry.items() if key not in (UPCOMING_FROM, UPCOMING_IDS)}
    return {**migrated, LISTED_IDS: entry[UPCOMING_IDS]}


# ----- deletion records -------------------------------------------------------------------------


def deletion_message(stream_name: str, key: Mapping[str, Any], now: str) -> AirbyteMessage:
    """The deletion record of the record whose primary key fields are `key` (e.g. `company_id` and
    `id`): those fields, `updatedAt` and `_ab_cdc_deleted_at`, both `now` (the sync's time on
    TIMIFY's clock, ISO-8601 UTC seconds), so that the record is the latest of its key."""
    return record_message(stream_name, {**key, "updatedAt": now, DELETED_AT: now})


def record_message(stream_name: str, data: Mapping[str, Any]) -> AirbyteMessage:
    """A record of `stream_name` emitted beside the stream's own (a deletion record, an appointment
    moved out of the range: appointment_lookup.py), stamped now."""
    return AirbyteMessage(
        type=Type.RECORD,
        record=AirbyteRecordMessage(stream=stream_name, data=dict(data), emitted_at=int(time.time() * 1000)),
    )
