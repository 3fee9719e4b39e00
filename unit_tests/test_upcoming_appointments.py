"""cancellation_tracking.UpcomingAppointments on its own: which windows are watched, what a
company's read keeps tracking, and when TIMIFY is asked about the appointments it no longer lists."""

from datetime import date

from source_timify.cancellation_tracking import UPCOMING_FROM, UPCOMING_IDS, UpcomingAppointments
from source_timify.cancellations import SeenAppointments, decode_ids, encode_ids

TODAY = date(2026, 6, 1)
UPCOMING_FROM_TODAY = "2026-05-01"  # 31 days back
A, B = "a" * 24, "b" * 24
ID1, ID2, ID3, ID4 = (f"{n:024x}" for n in (1, 2, 3, 4))


class Checker:
    """CancelledAppointments' `check`, answered from `still_upcoming`, calls recorded."""

    def __init__(self, still_upcoming=()):
        self.calls = []
        self.still_upcoming = set(still_upcoming)

    def check(self, company, missing, upcoming_from, range_to):
        self.calls.append((company, set(missing), upcoming_from, range_to))
        deleted = sorted(set(missing) - self.still_upcoming)
        return [f"deletion of {appointment_id}" for appointment_id in deleted], set(missing) & self.still_upcoming


def tracker(previous=None, checker=None):
    emitted = []
    subject = UpcomingAppointments(previous or {}, checker or Checker(), emitted.append, today=TODAY)
    return subject, emitted


def saw(*appointments):
    seen = SeenAppointments("2000-01-01")
    for record_id, start in appointments:
        seen.add({"id": record_id, "startDate": f"{start}T09:00:00Z"})
    return seen


def test_upcoming_means_from_31_days_before_today():
    subject, _ = tracker()
    assert subject.upcoming_from == UPCOMING_FROM_TODAY


def test_a_window_ending_before_the_upcoming_appointments_is_not_watched():
    subject, _ = tracker()
    assert subject.watch(A, "2026-04-30") is None
    assert subject.watch(A, UPCOMING_FROM_TODAY).since == UPCOMING_FROM_TODAY
    assert subject.watch(A, None).since == UPCOMING_FROM_TODAY  # a stream without windows


def test_a_window_is_watched_back_to_what_the_previous_entry_tracked():
    previous = {A: {UPCOMING_FROM: "2026-04-10", UPCOMING_IDS: encode_ids([ID1])}}
    subject, _ = tracker(previous)
    assert subject.watch(A, "2026-04-20").since == "2026-04-10"
    assert subject.watch(B, "2026-04-20") is None  # another company tracked nothing that old


def test_a_company_read_tracks_the_upcoming_ids_it_saw_within_the_range():
    subject, emitted = tracker()
    subject.partition_read(A, saw((ID1, "2026-05-02"), (ID2, "2026-04-01")))
    subject.partition_read(A, saw((ID3, "2026-07-01"), (ID4, "2026-08-01")))
    subject.partition_read(A, None)  # a window that was not watched
    entry = subject.company_read(A, "2026-07-31")
    assert set(entry) == {UPCOMING_FROM, UPCOMING_IDS} and entry[UPCOMING_FROM] == UPCOMING_FROM_TODAY
    assert sorted(decode_ids(entry[UPCOMING_IDS])) == [ID1, ID3]  # ID2 is past, ID4 beyond the range
    assert emitted == []


def test_the_tracking_entry_is_the_state_format_of_before():
    subject, _ = tracker()
    subject.partition_read(A, saw((ID1, "2026-05-02")))
    assert subject.company_read(A, "2026-07-31") == {"upcoming_from": "2026-05-01", "upcoming_ids": encode_ids([ID1])}


def test_tracked_ids_no_longer_listed_are_asked_and_their_deletions_emitted():
    checker = Checker()
    previous = {A: {UPCOMING_FROM: "2026-04-20", UPCOMING_IDS: encode_ids([ID1, ID2, ID3])}}
    subject, emitted = tracker(previous, checker)
    subject.partition_read(A, saw((ID1, "2026-05-10")))
    entry = subject.company_read(A, "2026-07-31")
    assert checker.calls == [(A, {ID2, ID3}, UPCOMING_FROM_TODAY, "2026-07-31")]
    assert emitted == [f"deletion of {ID2}", f"deletion of {ID3}"]
    assert decode_ids(entry[UPCOMING_IDS]) == [ID1]


def test_the_ids_timify_still_has_upcoming_or_could_not_be_asked_about_stay_tracked():
    checker = Checker(still_upcoming=[ID2])
    subject, emitted = tracker({A: {UPCOMING_IDS: encode_ids([ID1, ID2])}}, checker)
    subject.partition_read(A, saw((ID1, "2026-05-10")))
    entry = subject.company_read(A, "2026-07-31")
    assert emitted == [] and sorted(decode_ids(entry[UPCOMING_IDS])) == [ID1, ID2]


def test_nothing_is_asked_when_every_tracked_id_was_listed_again():
    checker = Checker()
    subject, emitted = tracker({A: {UPCOMING_IDS: encode_ids([ID1])}}, checker)
    subject.partition_read(A, saw((ID1, "2026-04-25")))  # listed, even if no longer upcoming
    assert decode_ids(subject.company_read(A, "2026-07-31")[UPCOMING_IDS]) == []
    assert checker.calls == [] and emitted == []


def test_each_company_is_compared_with_what_its_own_partitions_saw():
    checker = Checker()
    previous = {A: {UPCOMING_IDS: encode_ids([ID1])}, B: {UPCOMING_IDS: encode_ids([ID2])}}
    subject, emitted = tracker(previous, checker)
    subject.partition_read(A, saw((ID2, "2026-05-10")))
    subject.partition_read(B, saw((ID1, "2026-05-10")))
    subject.company_read(A, "2026-07-31")
    subject.company_read(B, "2026-07-31")
    assert [(company, missing) for company, missing, _, _ in checker.calls] == [(A, {ID1}), (B, {ID2})]
    assert emitted == [f"deletion of {ID1}", f"deletion of {ID2}"]


def test_what_a_company_saw_counts_for_one_read_only():
    subject, _ = tracker()
    subject.partition_read(A, saw((ID1, "2026-05-10")))
    subject.company_read(A, "2026-07-31")
    assert decode_ids(subject.company_read(A, "2026-07-31")[UPCOMING_IDS]) == []
