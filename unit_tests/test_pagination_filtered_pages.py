"""Pagination goes on after a page whose records were all filtered out on our side (unchanged
since the cursor, or before a start_date with a time): the CDK's `last_page_size` counts only the
records that passed, so stopping on it would skip the changed records on the next pages."""

import json

import pytest
import requests

from source_timify.lists import TimifyPagination


def response(records, meta=True, total_pages=3):
    body = {"data": records}
    if meta:
        body["meta"] = {"page": 1, "limit": 2, "totalItems": 6, "totalPages": total_pages}
    r = requests.Response()
    r.status_code = 200
    r._content = json.dumps(body).encode()
    r.request = requests.Request("GET", "http://127.0.0.1/v1/appointments?page=1&limit=2").prepare()
    return r


@pytest.mark.parametrize("meta", [True, False])
def test_a_full_page_with_every_record_filtered_out_is_not_the_last(meta):
    pagination = TimifyPagination(config={}, parameters={}, page_size=2)
    page = response([{"id": "a"}, {"id": "b"}], meta=meta)
    assert pagination.next_page_token(page, last_page_size=0, last_record=None, last_page_token_value=1) == 2


def test_an_empty_page_still_ends_pagination_whatever_meta_claims():
    pagination = TimifyPagination(config={}, parameters={}, page_size=2)
    assert pagination.next_page_token(response([]), last_page_size=0, last_record=None, last_page_token_value=1) is None
