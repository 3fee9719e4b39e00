"""`inspect.findsource` for classes from one parse per module, while the CDK is imported.

Importing the CDK builds its protocol serializers (serpyco-rs), which read every protocol class's
attribute docstrings with `inspect.getsource` (the attributes-doc package). On Python 3.11,
`inspect.findsource` finds a class by parsing its whole module again and walking the tree, once
per class: some 110 parses of the protocol's models, 0.4 s of every `check`, `discover` and `read`
(bench/RESULTS.md, "Start-up"). Inside `indexed_class_sources()` a class's line is looked up in an
index of its module's classes, built from the module's lines as `inspect` reads them (linecache)
with `inspect`'s own rule (the first class of that qualified name, at its first decorator).
Anything else, and a class the index does not hold, goes to `inspect.findsource` itself.
"""

import ast
import inspect
import sys
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

FindSource = Callable[[Any], Tuple[List[str], int]]


class ClassLines(ast.NodeVisitor):
    """The 0-based first line (its first decorator's, if any) of each class in a module's tree, by
    qualified name: what `inspect._ClassFinder` finds, for every class in one walk."""

    def __init__(self) -> None:
        self.stack: List[str] = []
        self.lines: Dict[str, int] = {}

    def visit_FunctionDef(self, node: Any) -> None:
        self.stack += [node.name, "<locals>"]
        self.generic_visit(node)
        del self.stack[-2:]

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        self.lines.setdefault(".".join(self.stack), first - 1)
        self.generic_visit(node)
        self.stack.pop()

    @classmethod
    def of(cls, lines: List[str]) -> Dict[str, int]:
        finder = cls()
        finder.visit(ast.parse("".join(lines)))
        return finder.lines


def indexed_findsource(findsource: FindSource) -> FindSource:
    """`findsource` with classes answered from a per-module index (ClassLines)."""
    index: Dict[str, Tuple[List[str], Dict[str, int]]] = {}

    def find(obj: Any) -> Tuple[List[str], int]:
        if not inspect.isclass(obj):
            return findsource(obj)
        module = inspect.getmodule(obj)
        path: Optional[str] = getattr(module, "__file__", None)
        if module is None or not path:
            return findsource(obj)
        lines, _ = findsource(module)  # the lines findsource(obj) reads: the same file, via linecache
        known = index.get(path)
        if known is None or known[0] is not lines:  # linecache read the file again
            known = index[path] = (lines, ClassLines.of(lines))
        line = known[1].get(obj.__qualname__)
        if line is None:
            return findsource(obj)  # inspect's own answer or error
        return lines, line

    return find


@contextmanager
def indexed_class_sources() -> Iterator[None]:
    """Inside: `inspect.findsource` (and so `getsource`) answers classes from the index. From
    Python 3.13 on, `inspect` finds a class by its `__firstlineno__` without parsing: unchanged."""
    if sys.version_info >= (3, 13):
        yield
        return
    original = inspect.findsource
    inspect.findsource = indexed_findsource(original)  # type: ignore[assignment]
    try:
        yield
    finally:
        inspect.findsource = original
