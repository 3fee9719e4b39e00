"""The install's companies as partitions, listed once per sync for every company-scoped stream.

Every company-scoped stream (appointments, customers, customer fields, services, resources,
timeshifts), the custom-field column plan and the appointment windows start from the companies
list. The CDK builds each of them a parent `companies` stream of its own, and each would list the
companies again. The CDK's request cache (`use_cache`) did not make that one request: streams start
at once, several asked before the first answer was cached, and the list went out 1 to 3 times per
sync depending on how busy the machine was (issue 19).

CompanyPartitions lists them once per sync, whatever the timing: the first stream to ask reads
the list while the others wait for it (session.PerSync). The `companies` stream of
the catalog reads the list itself, so a sync lists the companies exactly once, or twice when the
`companies` stream is selected with company-scoped streams.
"""

from dataclasses import InitVar, dataclass
from typing import Any, Iterable, Mapping, Optional, Union

from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

from source_timify.session import TimifySession, session_of

ONCE_PER_SYNC_KEY = "companies"


@dataclass
class CompanyPartitions(PartitionRouter):
    """The slices of `companies` (a SubstreamPartitionRouter over the companies stream: one per
    company, `company_id` with `createdAt`), read once per sync and shared by every stream. A read
    that fails is not kept: the next stream to ask reads the list again and fails the same way."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    companies: PartitionRouter
    # The config's (session_of) unless given.
    session: TimifySession = None  # type: ignore[assignment]

    def stream_slices(self) -> Iterable[StreamSlice]:
        session = self.session or session_of(self.config)
        listed = session.per_sync.once(ONCE_PER_SYNC_KEY, lambda: list(self.companies.stream_slices()))
        return iter(listed)

    def get_request_params(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]:
        return self.companies.get_request_params(*args, **kwargs)

    def get_request_headers(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]:
        return self.companies.get_request_headers(*args, **kwargs)

    def get_request_body_data(self, *args: Any, **kwargs: Any) -> Union[Mapping[str, Any], str]:
        return self.companies.get_request_body_data(*args, **kwargs)

    def get_request_body_json(self, *args: Any, **kwargs: Any) -> Mapping[str, Any]:
        return self.companies.get_request_body_json(*args, **kwargs)

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        return None  # the companies list keeps no state (no incremental_dependency)
