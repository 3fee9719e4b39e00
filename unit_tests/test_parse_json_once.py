"""Each response body is parsed once, however many components read it."""

import pytest
import requests

from source_timify.response_json import parse_json_once


def response_with(body: bytes, status: int = 200) -> requests.Response:
    response = requests.Response()
    response._content = body
    response.status_code = status
    return parse_json_once(response)


def test_every_reader_gets_the_same_parsed_body():
    response = response_with(b'{"data": [{"id": "a"}], "meta": {"page": 1}}')
    first, second = response.json(), response.json()
    assert first == {"data": [{"id": "a"}], "meta": {"page": 1}}
    assert first is second


def test_a_body_that_is_not_json_raises_the_error_requests_callers_expect():
    response = response_with(b'{"data": [{"id": "trunc')
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_a_response_is_freed_as_soon_as_nobody_holds_it():
    import gc
    import weakref

    gc.disable()  # only reference counting may free it: no cycle through the hook
    try:
        response = response_with(b'{"data": []}')
        response.json()
        alive = weakref.ref(response)
        del response
        assert alive() is None
    finally:
        gc.enable()


def test_a_parsed_page_of_a_list_lets_its_bytes_go():
    response = response_with(b'{"data": [{"id": "a"}], "meta": {"page": 1}}')
    assert response.json() == {"data": [{"id": "a"}], "meta": {"page": 1}}
    assert response.content == b""  # ~2 MB a page of 1,000 appointments, beside its parse
    assert response.json() == {"data": [{"id": "a"}], "meta": {"page": 1}}


@pytest.mark.parametrize(
    "body, status",
    [
        (b'{"error": {"message": "forbidden"}, "data": null}', 403),  # an error: its text is read for messages
        (b'{"accessToken": "t"}', 200),  # not a list
        (b'["data"]', 200),
        (b'"data"', 200),
    ],
)
def test_any_other_body_keeps_its_bytes_once_parsed(body, status):
    response = response_with(body, status)
    response.json()
    assert response.content == body


def test_with_debug_logs_a_page_keeps_its_bytes_for_the_cdks_log_of_bodies():
    import logging

    airbyte_logger = logging.getLogger("airbyte")
    level = airbyte_logger.level
    airbyte_logger.setLevel(logging.DEBUG)  # what `--debug` sets
    try:
        response = response_with(b'{"data": []}')
        response.json()
    finally:
        airbyte_logger.setLevel(level)
    assert response.text == '{"data": []}'
