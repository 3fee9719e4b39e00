"""CompanyCursor on its own: when a company's entry moves, and what each slice tells the filter."""

from typing import List

import requests_mock
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.message import InMemoryMessageRepository
from airbyte_cdk.sources.types import StreamSlice

from source_timify.cancellations import DELETED_AT, decode_ids, encode_ids
from source_timify.deletion_tracking import SeenIds
from source_timify.incremental import CompanyCursor, LegacyGlobalCursorMigration
from source_timify.session import TimifySession
from source_timify.slices import seen_of
from source_timify.timify import iso_seconds
from unit_tests.conftest import days_from_today, make_config
from unit_tests.timify_responses import lookups, register_login, register_lookup

CONFIG = {"app_id": "app", "base_url": "https://api.timify.com"}
A, B = "a" * 24, "b" * 24
KEPT, CANCELLED, PAST = "6a" + "0" * 22, "6b" + "0" * 22, "6c" + "0" * 22


class Router:
    def __init__(self, slices: List[StreamSlice]) -> None:
        self.slices = slices

    def stream_slices(self):
        yield from self.slices


class Partition:
    def __init__(self, stream_slice: StreamSlice) -> None:
        self.stream_slice = stream_slice

    def to_slice(self) -> StreamSlice:
        return self.stream_slice


def window(company: str, from_date: str, to_date: str) -> StreamSlice:
    return StreamSlice(
        partition={"company_id": company, "from_date": from_date, "to_date": to_date},
        cursor_slice={},
        extra_fields={"range_from": "2026-01-01", "range_to": "2026-03-31"},
    )


def cursor(slices, state=None, lookback=300) -> CompanyCursor:
    return CompanyCursor(
        stream_name="appointments",
        partition_router=Router(slices),  # type: ignore[arg-type]  # a stand-in with its slices
        config=CONFIG,
        stream_state=state,
        message_repository=InMemoryMessageRepository(),
        connector_state_manager=ConnectorStateManager(),
        lookback_seconds=lookback,
        session=SESSION,
    )


SESSION = TimifySession()


def logged_in_at(epoch: float) -> None:
    SESSION.start_sync()
    SESSION.clock.logged_in(server_time=epoch, received=epoch)


def test_a_company_moves_on_only_when_all_its_partitions_are_closed_in_any_order():
    logged_in_at(1_780_000_000)  # 2026-05-28T20:26:40Z
    slices = [
        window(A, "2026-01-01", "2026-01-31"),
        window(A, "2026-02-01", "2026-03-31"),
        window(B, "2026-01-01", "2026-03-31"),
    ]
    subject = cursor(slices)
    generated = list(subject.stream_slices())
    subject.close_partition(Partition(generated[1]))
    assert subject.state == {"companies": {}}
    subject.close_partition(Partition(generated[2]))
    assert set(subject.state["companies"]) == {B}
    subject.close_partition(Partition(generated[0]))
    assert subject.state["companies"][A] == {
        "updatedAt": "2026-05-28T20:26:40Z",
        "from_date": "2026-01-01",
        "to_date": "2026-03-31",
    }


def test_a_company_whose_partitions_closed_before_generation_ended_moves_on_when_it_ends():
    logged_in_at(1_780_000_000)
    subject = cursor([window(A, "2026-01-01", "2026-01-31"), window(B, "2026-01-01", "2026-03-31")])
    slices = subject.stream_slices()
    first = next(slices)
    subject.close_partition(Partition(first))  # A's only window, while A may still be generating
    assert A not in subject.state["companies"]
    next(slices)  # the router moved on to B: A is done
    assert A in subject.state["companies"]


def test_a_partition_that_never_closes_keeps_the_previous_entry():
    logged_in_at(1_780_000_000)
    previous = {
        "companies": {A: {"updatedAt": "2026-01-01T00:00:00Z", "from_date": "2026-01-01", "to_date": "2026-02-28"}}
    }
    subject = cursor([window(A, "2026-01-01", "2026-01-31"), window(A, "2026-02-01", "2026-03-31")], state=previous)
    generated = list(subject.stream_slices())
    subject.close_partition(Partition(generated[0]))  # the second one failed
    assert subject.state == previous


def test_slices_carry_the_cursor_minus_the_lookback_and_the_previous_range_where_it_matters():
    previous = {
        "companies": {A: {"updatedAt": "2026-05-01T12:00:00Z", "from_date": "2026-02-01", "to_date": "2026-02-28"}}
    }
    subject = cursor(
        [
            window(A, "2026-02-01", "2026-02-28"),  # inside the previous range
            window(A, "2026-01-15", "2026-02-14"),  # reaching outside it
            window(A, "2026-03-01", "2026-03-31"),  # wholly outside it
            window(B, "2026-01-01", "2026-03-31"),  # a company never seen
        ],
        state=previous,
        lookback=300,
    )
    cursor_slices = [s.cursor_slice for s in subject.stream_slices()]
    since = {"changed_since": "2026-05-01T11:55:00Z"}
    assert cursor_slices == [
        since,
        {**since, "previous_from_date": "2026-02-01", "previous_to_date": "2026-02-28"},
        {},
        {},
    ]


def test_without_a_login_the_cursor_is_its_own_creation_time():
    SESSION.start_sync()  # no login in this sync
    subject = cursor([window(A, "2026-01-01", "2026-03-31")])
    (only,) = list(subject.stream_slices())
    subject.close_partition(Partition(only))
    assert subject.state["companies"][A]["updatedAt"] <= iso_seconds(subject._created + 1)


def test_legacy_states_are_migrated_and_new_ones_are_not():
    migration = LegacyGlobalCursorMigration(config={}, parameters={})
    legacy = {"use_global_cursor": True, "state": {"updatedAt": "2026-01-20T00:00:00Z"}, "lookback_window": 3}
    assert migration.should_migrate(legacy) and migration.should_migrate({"updatedAt": "2026-01-20T00:00:00Z"})
    assert migration.migrate(legacy) == {"companies": {}}
    assert not migration.should_migrate({"companies": {}}) and not migration.should_migrate({})


# ----- with track_cancellations: the cursor tracks every appointment of the range (ListedIds) ----


def tracking_cursor(slices, state, repository):
    return CompanyCursor(
        stream_name="appointments",
        partition_router=Router(slices),
        config=make_config(),
        stream_state=state,
        message_repository=repository,
        connector_state_manager=ConnectorStateManager(),
        track_cancellations=True,
        session=SESSION,
    )


def dated_window(company: str, from_days: int, to_days: int) -> StreamSlice:
    return StreamSlice(
        partition={"company_id": company, "from_date": days_from_today(from_days), "to_date": days_from_today(to_days)},
        cursor_slice={},
        extra_fields={"range_from": days_from_today(-90), "range_to": days_from_today(30)},
    )


def test_a_tracking_cursor_watches_every_window_of_the_range_past_ones_too():
    subject = tracking_cursor([dated_window(A, -90, -32), dated_window(A, -31, 30)], None, InMemoryMessageRepository())
    past, upcoming = list(subject.stream_slices())
    assert isinstance(seen_of(past), SeenIds) and isinstance(seen_of(upcoming), SeenIds)
    assert seen_of(past) is not seen_of(upcoming)
    assert upcoming.extra_fields["range_to"] == days_from_today(30)  # the router's fields ride along


def test_a_tracking_cursor_emits_the_deletions_of_its_company_before_its_state_and_migrates_0_4_0_state():
    logged_in_at(1_780_000_000)
    previous = {
        "companies": {
            A: {
                "updatedAt": "2026-01-01T00:00:00Z",
                "upcoming_from": days_from_today(-40),
                "upcoming_ids": encode_ids([KEPT, CANCELLED]),
            }
        }
    }
    repository = InMemoryMessageRepository()
    subject = tracking_cursor([dated_window(A, -90, -32), dated_window(A, -31, 30)], previous, repository)
    with requests_mock.Mocker() as api:
        register_login(api)
        register_lookup(api, A, found=[])
        slices = list(subject.stream_slices())
        seen_of(slices[1]).add({"id": KEPT, "startDate": days_from_today(3) + "T10:00:00Z"})
        seen_of(slices[0]).add({"id": PAST, "startDate": days_from_today(-60) + "T10:00:00Z"})
        for stream_slice in slices:
            subject.close_partition(Partition(stream_slice))
        asked = lookups(api)
    assert [request.qs["ids"] for request in asked] == [[CANCELLED]]
    messages = list(repository.consume_queue())
    assert [message.type.name for message in messages] == ["RECORD", "STATE"]
    assert messages[0].record.data["id"] == CANCELLED and messages[0].record.data[DELETED_AT]
    entry = subject.state["companies"][A]
    # 0.4.0's `upcoming_ids` were read as the tracked ids; the new entry tracks the whole range
    assert "upcoming_ids" not in entry and "upcoming_from" not in entry
    assert sorted(decode_ids(entry["listed_ids"])) == sorted([KEPT, PAST])
