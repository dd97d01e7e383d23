# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Checks the nova installed here against ``nova_contract.INTERNALS``.

Each entry is resolved by its dotted path (importing only the nova modules
named), then its kind, parameters, message arguments and the source text
we rely on are compared with what the entry says. Run by
tests/unit/test_nova_contract.py (``tox -e py3``).
"""

import functools
import importlib
import inspect
import re
import typing

from nova_glance_multistore import nova_contract as contract


class _Gone(LookupError):
    pass


def resolve(path: str) -> typing.Any:
    """The object at ``path``, as stored (descriptors not unwrapped).

    :raises LookupError: a part of the path is not there.
    """
    parts = path.split('.')
    for end in range(len(parts), 0, -1):
        name = '.'.join(parts[:end])
        try:
            obj = importlib.import_module(name)
            break
        except ModuleNotFoundError as e:
            if not e.name or not (name + '.').startswith(e.name + '.'):
                raise  # a module nova imports is missing: not "gone"
    else:
        raise _Gone('no module %s' % parts[0])
    for part in parts[end:]:
        try:
            obj = (inspect.getattr_static(obj, part) if isinstance(obj, type)
                   else getattr(obj, part))
        except AttributeError:
            raise _Gone('%s has no %s' % (name, part)) from None
        name += '.' + part
    return obj


def _function(obj: typing.Any) -> tuple[typing.Any, bool]:
    """The function behind a descriptor, and whether it is a classmethod."""
    is_classmethod = False
    while True:
        if isinstance(obj, (classmethod, staticmethod)):
            is_classmethod = is_classmethod or isinstance(obj, classmethod)
            obj = obj.__func__
        elif getattr(obj, 'original_fn', None) is not None:
            obj = obj.original_fn  # nova.objects.base.serialize_args
        else:
            return obj, is_classmethod


def _params(func: typing.Any) -> tuple[str, ...]:
    star = {inspect.Parameter.VAR_POSITIONAL: '*',
            inspect.Parameter.VAR_KEYWORD: '**'}
    return tuple(star.get(p.kind, '') + p.name
                 for p in inspect.signature(func).parameters.values())


@functools.lru_cache(maxsize=None)
def _class_source(cls: type) -> str:
    """A class's source, '' when there is none (finding it parses a file)."""
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ''


def _assigned(owner: type, name: str) -> bool:
    """Whether ``self.<name> =`` is in the source of owner or a base."""
    pattern = re.compile(r'\bself\.%s\s*(:[^=\n]*)?=(?!=)' % re.escape(name))
    return any(pattern.search(_class_source(cls))
               for cls in owner.__mro__[:-1])


def _changed(path: str, what: str, expected: tuple[str, ...],
             found: tuple[str, ...]) -> list[str]:
    if expected == found:
        return []
    return ['%s %s changed: expected (%s), nova has (%s)' % (
        path, what, ', '.join(expected), ', '.join(found))]


def _problems(internal: contract.Internal) -> list[str]:
    path, kind, params = internal.path, internal.kind, internal.params
    if kind == contract.INSTANCE_ATTRIBUTE:
        owner_path, _, name = path.rpartition('.')
        owner = resolve(owner_path)
        if hasattr(owner, name) or _assigned(owner, name):
            return []
        raise _Gone('no self.%s = in %s' % (name, owner_path))
    obj = resolve(path)
    if kind in (contract.CLASS, contract.EXCEPTION) and not isinstance(
            obj, type):
        return ['%s is no longer a class' % path]
    if kind == contract.EXCEPTION:
        if not issubclass(obj, BaseException):
            return ['%s is no longer an exception' % path]
        keys = re.findall(r'%\((\w+)\)', str(getattr(obj, 'msg_fmt', '')))
        if params is not None:
            return _changed(path, 'message arguments', tuple(sorted(params)),
                            tuple(sorted(set(keys))))
    if kind in contract.CALLABLE_KINDS:
        func, is_classmethod = _function(obj)
        if isinstance(obj, property) or not callable(func):
            return ['%s is no longer a %s' % (path, kind)]
        if is_classmethod != (kind == contract.CLASSMETHOD):
            return ['%s is %s a classmethod' % (
                path, 'now' if is_classmethod else 'no longer')]
        changed = _changed(path, 'signature', params or (), _params(func))
        if params is not None and changed:
            return changed
        obj = inspect.unwrap(func)
    if not internal.source_has:
        return []
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError) as e:
        return ['%s has no readable source (%s)' % (path, e)]
    return ['%s no longer contains %r' % (path, text)
            for text in internal.source_has if text not in source]


def check(internals: typing.Sequence[contract.Internal] = (
        contract.INTERNALS)) -> list[str]:
    """What moved in the nova installed here: one line per problem, or [].

    Imports the nova modules named in ``internals``, nothing else.
    """
    problems = []
    for internal in internals:
        try:
            found = _problems(internal)
        except _Gone as e:
            found = ['%s is gone (%s)' % (internal.path, e)]
        except Exception as e:  # a broken nova is reported, not raised
            found = ['%s cannot be checked: %s: %s' % (
                internal.path, type(e).__name__, e)]
        problems.extend('%s (used by %s)' % (problem, internal.used_by)
                        for problem in found)
    return problems
