"""enterprise_customers incremental on updatedAt through the real `source-timify` entry point:
several syncs with customers created and changed between them, against a server that honours
`updated_since` and one that ignores it (the connector sends none: its deletion tracking needs the
whole list); the destination always equals the truth."""

import datetime as dt

import pytest
from timify_emulator import Emulator

from integration_tests.connector import expected_records, run_connector

STREAM = "enterprise_customers"
PATH = "/v1/enterprise-customers"


def served(emu):
    """The records TIMIFY served to enterprise-customers requests since the last reset, and their queries."""
    entries = [e for e in emu.requests_log() if e["path"] == PATH and e["status"] == 200]
    return sum(e["items"] or 0 for e in entries), [e["query"] for e in entries]


def truth(emu):
    """The enterprise customers as the connector must emit them (with their custom-field columns)."""
    return {r["id"]: r for r in expected_records(emu, STREAM, {})}


def sync(emu, state, destination):
    emu.reset_log()
    run = run_connector("read", emu.connector_config(page_size=5), [STREAM], state=state)
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    for record in run.records(STREAM):
        destination[record["id"]] = record
    return run


@pytest.mark.parametrize("server_filters", [True, False], ids=["with-updated_since", "without-the-filter"])
def test_several_syncs_list_every_customer_and_bring_every_change(server_filters):
    with Emulator(companies=2, appointments_per_company=10, seed=51, updated_since_filter=server_filters) as emu:
        destination = {}
        run = sync(emu, None, destination)
        first_count, first_queries = served(emu)
        assert first_count == len(emu.truth(STREAM)) and all("updated_since" not in q for q in first_queries)
        assert destination == truth(emu)
        state = run.last_states()
        cursor = state[0]["stream"]["stream_state"]["updatedAt"]
        assert set(state[0]["stream"]["stream_state"]) == {"updatedAt", "listed_ids"}

        for round_ in range(2):
            emu.advance(3600)
            changed = [
                emu.update_enterprise_customer(emu.truth(STREAM)[round_ * 3]["id"], lastName=f"Changed {round_}"),
                emu.create_enterprise_customer(firstName=f"New {round_}"),
            ]
            # Changed between the syncs, not during one: TIMIFY stamps whole seconds, and a record
            # stamped in the second the sync logs in counts as changed while the list was paged
            # (PageGuard reads it again from page 1, which the count below would see). A sync
            # starting under a second after the change happened at random.
            emu.advance(2)
            run = sync(emu, state, destination)
            count, queries = served(emu)
            # No `updated_since`: the whole list, whatever the server's filter (deletion tracking).
            assert queries and all("updated_since" not in q for q in queries)
            assert {r["id"] for r in run.records(STREAM)} >= {r["id"] for r in changed}
            assert count == len(emu.truth(STREAM))
            # Filtered on our side too: only what changed since the cursor minus the 5-minute lookback.
            since = (dt.datetime.strptime(cursor, "%Y-%m-%dT%H:%M:%SZ") - dt.timedelta(seconds=300)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            assert {r["id"] for r in run.records(STREAM)} == {
                r["id"] for r in emu.truth(STREAM) if r["updatedAt"] >= since
            }
            assert destination == truth(emu)
            new_state = run.last_states()
            assert new_state[0]["stream"]["stream_state"]["updatedAt"] > cursor
            state, cursor = new_state, new_state[0]["stream"]["stream_state"]["updatedAt"]


def test_a_future_updated_at_does_not_hide_later_changes_and_a_failed_sync_keeps_the_cursor():
    with Emulator(companies=2, appointments_per_company=10, seed=52) as emu:
        destination = {}
        first = emu.truth(STREAM)[0]["id"]
        emu.update_enterprise_customer(first, updated_at=emu.now() + dt.timedelta(days=30))
        run = sync(emu, None, destination)
        state = run.last_states()
        assert state[0]["stream"]["stream_state"]["updatedAt"] <= emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        emu.advance(600)
        later = emu.update_enterprise_customer(emu.truth(STREAM)[1]["id"], lastName="Later")
        emu.faults.update(fail_requests={n: 400 for n in range(1, 50)})
        failed = run_connector("read", emu.connector_config(page_size=5), [STREAM], state=state)
        emu.faults.reset()
        assert failed.returncode != 0
        kept = [s for s in failed.states() if s["stream"]["stream_descriptor"]["name"] == STREAM]
        assert all(s["stream"]["stream_state"] == state[0]["stream"]["stream_state"] for s in kept)
        run = sync(emu, state, destination)
        assert later["id"] in {r["id"] for r in run.records(STREAM)}
        assert destination == truth(emu)


@pytest.mark.parametrize(
    "legacy", [{}, {"companies": {}}, {"state": {"updatedAt": "2025-01-01T00:00:00Z"}, "use_global_cursor": True}]
)
def test_an_empty_or_other_shaped_state_reads_in_full(legacy):
    with Emulator(companies=2, appointments_per_company=10, seed=53) as emu:
        state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": STREAM}, "stream_state": legacy}}]
        run = sync(emu, state, {})
        assert {r["id"] for r in run.records(STREAM)} == {r["id"] for r in emu.truth(STREAM)}
        assert all("updated_since" not in q for q in served(emu)[1])
