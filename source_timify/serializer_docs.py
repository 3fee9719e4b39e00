"""The CDK imported without reading the protocol classes' attribute docstrings.

Importing the CDK builds its protocol serializers (serpyco-rs, airbyte_cdk.models), and serpyco-rs
reads every protocol class's attribute docstrings (the attributes-doc package: `inspect.getsource`
and a parse of the class, for some 50 classes). They would go into one place only, the JSON schema
a serializer describes itself with (`Serializer.get_json_schema()`, which neither the CDK nor the
connector asks for), and the protocol's classes have none: unit_tests/test_serializer_docs.py
compares every kind of message, written and read, and that schema, both ways. Inside
`attribute_docs_unread()` serpyco-rs finds no docstrings: 0.09-0.11 CPU s less for each `check`,
`discover` and `read` (bench/RESULTS.md, issue 22), on top of the re-parses of each class's module
that `inspect` made on Python 3.11 (0.4 s, which an index of classes saved before this).
"""

import importlib
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Tuple

# The modules of serpyco-rs that call its `get_attributes_doc` by that name.
READERS = ("serpyco_rs._describe", "serpyco_rs._json_schema._convert")


def no_docs(cls: Any) -> Dict[str, str]:
    """`get_attributes_doc` finding none: an attribute's docstring only describes it in a schema."""
    return {}


def readers() -> List[Any]:
    """The serpyco-rs modules that read attribute docstrings; KeyError naming one that no longer does
    (unit_tests/test_serializer_docs.py fails by name on a serpyco-rs that changed)."""
    modules = [importlib.import_module(name) for name in READERS]
    for module in modules:
        if not callable(getattr(module, "get_attributes_doc", None)):
            raise KeyError(f"{module.__name__} has no get_attributes_doc")
    return modules


@contextmanager
def attribute_docs_unread() -> Iterator[None]:
    """Inside: serpyco-rs's serializers are built without attribute docstrings. A serpyco-rs that
    reads them elsewhere is left alone (its serializers are then only slower to build)."""
    try:
        modules = readers()
    except (ImportError, KeyError):
        yield
        return
    originals: List[Tuple[Any, Any]] = [(module, module.get_attributes_doc) for module in modules]
    for module, _ in originals:
        module.get_attributes_doc = no_docs
    try:
        yield
    finally:
        for module, original in originals:
            module.get_attributes_doc = original
