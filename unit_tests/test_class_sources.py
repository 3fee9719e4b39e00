"""class_sources: classes' sources found from one parse per module, exactly as `inspect` finds them."""

import importlib.util
import inspect
import sys
import textwrap

import pytest

import source_timify.entrypoint  # noqa: F401  # the CDK, its protocol models and ours, all loaded
from source_timify.class_sources import ClassLines, indexed_class_sources, indexed_findsource

TRICKY_MODULE = '''
import dataclasses


class Plain:
    x: int = 1
    """x's doc"""


@dataclasses.dataclass
class Decorated:
    """On its decorator's line."""

    y: str = "y"


class Outer:
    class Inner:
        class Innermost:
            pass


def factory():
    class Local:
        pass

    return Local


class Twice:
    first = True


class Twice:  # noqa: F811
    first = False


async def coroutine_factory():
    class InCoroutine:
        pass

    return InCoroutine


Alias = Plain
Made = type("Made", (), {})
'''


def answer(findsource, obj):
    try:
        return findsource(obj)
    except (OSError, TypeError) as error:
        return type(error), str(error)


def classes_of(modules):
    for module in modules:
        for value in list(vars(module).values()):
            if inspect.isclass(value):
                yield value
                yield from (v for v in vars(value).values() if inspect.isclass(v))


@pytest.fixture
def tricky_module(tmp_path):
    path = tmp_path / "tricky_classes.py"
    path.write_text(textwrap.dedent(TRICKY_MODULE))
    spec = importlib.util.spec_from_file_location("tricky_classes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tricky_classes"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["tricky_classes"]


def test_every_protocol_model_and_connector_class_is_found_where_inspect_finds_it():
    # The protocol's models are what the CDK's serializers read; and ours.
    prefixes = ("airbyte_protocol", "airbyte_cdk.models", "source_timify")
    modules = [m for name, m in list(sys.modules.items()) if name.startswith(prefixes)]
    classes = list(classes_of(modules))
    assert len(classes) > 300
    indexed = indexed_findsource(inspect.findsource)
    different = [c for c in classes if answer(indexed, c) != answer(inspect.findsource, c)]
    assert not different, different[:5]


def test_nested_local_decorated_and_repeated_classes_are_found_where_inspect_finds_them(tricky_module):
    local, in_coroutine = tricky_module.factory(), None
    import asyncio

    in_coroutine = asyncio.run(tricky_module.coroutine_factory())
    objects = [
        tricky_module.Plain,
        tricky_module.Decorated,
        tricky_module.Outer,
        tricky_module.Outer.Inner,
        tricky_module.Outer.Inner.Innermost,
        local,
        in_coroutine,
        tricky_module.Twice,
        tricky_module.Alias,
        tricky_module.Made,  # made by type(): inspect cannot find it, nor can the index
        tricky_module,
        tricky_module.factory,
    ]
    indexed = indexed_findsource(inspect.findsource)
    for obj in objects:
        assert answer(indexed, obj) == answer(inspect.findsource, obj), obj
    assert answer(indexed, tricky_module.Made)[0] is OSError
    assert indexed(tricky_module.Twice)[1] == inspect.findsource(tricky_module.Twice)[1]
    assert indexed(tricky_module.Decorated)[0][indexed(tricky_module.Decorated)[1]].startswith("@dataclasses")


def test_the_index_parses_each_module_once(tricky_module, monkeypatch):
    parses = []
    original = ClassLines.of.__func__
    monkeypatch.setattr(ClassLines, "of", classmethod(lambda cls, lines: parses.append(1) or original(cls, lines)))
    indexed = indexed_findsource(inspect.findsource)
    for obj in (tricky_module.Plain, tricky_module.Decorated, tricky_module.Outer.Inner, tricky_module.Twice):
        indexed(obj)
    assert len(parses) == 1


def test_a_module_read_again_by_linecache_is_indexed_again(tricky_module, tmp_path):
    indexed = indexed_findsource(inspect.findsource)
    assert indexed(tricky_module.Plain)[1] == inspect.findsource(tricky_module.Plain)[1]
    path = tmp_path / "tricky_classes.py"
    path.write_text("\n\n\n" + path.read_text())  # the classes move three lines down
    import linecache

    linecache.checkcache(str(path))
    assert indexed(tricky_module.Plain) == inspect.findsource(tricky_module.Plain)


def test_inspect_is_itself_again_after_the_block_even_after_an_error():
    original = inspect.findsource
    with pytest.raises(RuntimeError):
        with indexed_class_sources():
            assert inspect.findsource is not original or sys.version_info >= (3, 13)
            raise RuntimeError
    assert inspect.findsource is original


def test_attribute_docstrings_read_inside_the_block_equal_inspects(tricky_module):
    from attributes_doc import get_attributes_doc

    plain = get_attributes_doc(tricky_module.Plain)
    with indexed_class_sources():
        assert get_attributes_doc(tricky_module.Plain) == plain == {"x": "x's doc"}
