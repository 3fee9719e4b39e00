"""What keeps a sync's memory flat: a short record queue between the workers and the writer; and
what keeps its garbage collection cheap without letting garbage pile up."""

import gc

from source_timify import SourceTimify
from source_timify.cdk_workarounds import RECORD_QUEUE_SIZE
from source_timify.entrypoint import GC_GENERATION0_THRESHOLD, collect_garbage_less_often
from unit_tests.conftest import make_config


def test_the_record_queue_between_workers_and_writer_is_short():
    source = SourceTimify(config=make_config())
    assert source._concurrent_source._queue.maxsize == RECORD_QUEUE_SIZE == 500


def test_the_cli_collects_cyclic_garbage_after_50000_new_containers_with_the_older_generations_as_they_were():
    before = gc.get_threshold()
    try:
        collect_garbage_less_often()
        assert gc.get_threshold() == (GC_GENERATION0_THRESHOLD, *before[1:]) == (50_000, *before[1:])
    finally:
        gc.set_threshold(*before)
