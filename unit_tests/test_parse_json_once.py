"""Each response body is parsed once, however many components read it."""

import pytest
import requests

from source_timify.cdk_workarounds import parse_json_once


def response_with(body: bytes) -> requests.Response:
    response = requests.Response()
    response._content = body
    response.status_code = 200
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
