"""The TIMIFY source: the declarative manifest next to this file, loaded by absolute path."""

from pathlib import Path
from typing import Any, List, Mapping, Optional

from airbyte_cdk.models import ConfiguredAirbyteCatalog
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import TState

MANIFEST_PATH = Path(__file__).parent / "manifest.yaml"


class SourceTimify(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[List[TState]] = None,
    ) -> None:
        # CDK 7 reads config, catalog and state here, not in read(): a source built without
        # them silently restarts every incremental stream from scratch.
        super().__init__(
            path_to_yaml=str(MANIFEST_PATH), catalog=catalog, config=config, state=state
        )
