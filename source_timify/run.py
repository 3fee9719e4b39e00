"""`source-timify`: the Airbyte protocol entry point (spec, check, discover, read)."""

import sys
from typing import List, Optional


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    from source_timify.entrypoint import launch  # imports the CDK

    launch(args)


if __name__ == "__main__":
    run()
