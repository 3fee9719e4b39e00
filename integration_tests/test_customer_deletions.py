"""Deleted customers reach the warehouse (issue 21): TIMIFY deletes a customer (an erasure, a
merge, a clean-up) and the next sync of the real `source-timify` emits one deletion record for it,
after a second listing of its company confirms it gone; nothing for a company that failed or left
the enterprise, and nothing false when it comes back."""

from timify_emulator import Emulator

from integration_tests.connector import full_range_config, stamped_during
from integration_tests.destination import Destination, assert_holds_the_truth
from source_timify.second_listing import LIMIT as SECOND_LIMIT

DELETED_AT = "_ab_cdc_deleted_at"


def deletions(run):
    return sorted((r["company_id"], r["id"]) for r in run.records("customers") if r.get(DELETED_AT))


def second_listings(emu):
    """The companies whose customers were listed again (`limit` of the second listing)."""
    return sorted(
        e["company_id"]
        for e in emu.requests_log()
        if e["path"] == "/v1/customers" and e["query"].get("limit") == str(SECOND_LIMIT)
    )


def test_a_deleted_customer_arrives_once_as_a_deletion_record_and_the_destination_equals_timify():
    with Emulator(companies=2, appointments_per_company=40, customers_per_company=70, seed=81) as emu:
        config = full_range_config(emu, page_size=25)
        company, other = emu.company_ids
        destination = Destination()
        first = destination.sync(config)
        assert not deletions(first) and all(r[DELETED_AT] is None for r in first.records("customers"))
        assert_holds_the_truth(emu, config, destination)

        erased = [emu.truth("customers", company)[i]["id"] for i in (3, 40)]  # on two different pages
        emu.advance(60)
        for customer_id in erased:
            emu.delete_customer(company, customer_id)
        emu.reset_log()
        before = emu.now()
        second = destination.sync(config)
        after = emu.now()
        assert deletions(second) == sorted((company, customer_id) for customer_id in erased)
        for record in second.records("customers"):
            if record.get(DELETED_AT):
                assert set(record) == {"company_id", "id", "updatedAt", DELETED_AT}
                assert record["updatedAt"] == record[DELETED_AT] and stamped_during(record[DELETED_AT], before, after)
        assert second_listings(emu) == [company]  # only the company with a deletion, once
        assert_holds_the_truth(emu, config, destination)

        emu.reset_log()
        third = destination.sync(config)
        assert not deletions(third) and not second_listings(emu)
        assert_holds_the_truth(emu, config, destination)


def test_a_failed_company_and_a_departed_branch_report_none_and_nothing_false_when_they_return():
    with Emulator(companies=3, appointments_per_company=30, customers_per_company=40, seed=82) as emu:
        config = full_range_config(emu, page_size=25)
        healthy, lost, departing = emu.company_ids
        destination = Destination()
        destination.sync(config)
        erased = {c: emu.truth("customers", c)[5]["id"] for c in (healthy, lost, departing)}
        emu.advance(60)
        for company, customer_id in erased.items():
            emu.delete_customer(company, customer_id)
        emu.faults.forbidden_companies = [lost]  # the app lost access to it
        emu.remove_company(departing)  # it left the enterprise
        failed = destination.sync(config, expect_success=False)
        assert failed.errors() and all(lost in e["message"] for e in failed.errors())
        assert deletions(failed) == [(healthy, erased[healthy])]
        # What TIMIFY holds, but for the failed company's deleted customer and the departed
        # branch's records, which stay as they were.
        departed = [key[-1] for table in destination.tables.values() for key in table if key[0] == departing]
        assert_holds_the_truth(emu, config, destination, gone=[erased[lost], *departed])

        emu.faults.forbidden_companies = None
        emu.restore_company(departing)
        recovered = destination.sync(config)
        assert deletions(recovered) == sorted((c, erased[c]) for c in (lost, departing))
        assert_holds_the_truth(emu, config, destination)
        assert not deletions(destination.sync(config))
