"""What keeps a sync's memory flat: a short record queue between the workers and the writer."""

from source_timify import SourceTimify
from source_timify.cdk_workarounds import RECORD_QUEUE_SIZE
from unit_tests.conftest import make_config


def test_the_record_queue_between_workers_and_writer_is_short():
    source = SourceTimify(config=make_config())
    assert source._concurrent_source._queue.maxsize == RECORD_QUEUE_SIZE == 500
