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

"""Who asked for a store: the user, the flavor, or nova.conf.

The sources, in order; the first one that names a store wins:

1. The user: server metadata ``glance_multistore:snapshot_store``, honoured
   only for a store in ``[glance_multistore] user_selectable_stores``
   (empty by default: users may not choose). Any other choice is refused,
   never ignored: the user asked for it.
2. The operator, per workload: the flavor's extra spec
   ``glance_multistore:snapshot_store``.
3. The operator, per host: ``[glance] store``.

After them ``target.resolve_target_store`` falls back to the base image's
store, then Glance's default. Image properties never steer the store:
users control them, and nova copies the base image's properties into the
instance's system metadata and into the snapshot's own record.

The same flavor namespace lists the stores a snapshot is copied to
(``glance_multistore:copy_to_stores``, else ``[glance_multistore]
copy_to_stores``).
"""

import dataclasses
import typing

from nova_glance_multistore import exception
from nova_glance_multistore import validation

if typing.TYPE_CHECKING:  # pragma: no cover
    from nova_glance_multistore import stores as stores_mod

NAMESPACE = 'glance_multistore'
SNAPSHOT_STORE_KEY = NAMESPACE + ':snapshot_store'
COPY_TO_STORES_KEY = NAMESPACE + ':copy_to_stores'

USER_SELECTABLE_OPT = '[glance_multistore] user_selectable_stores'
COPY_TO_STORES_OPT = '[glance_multistore] copy_to_stores'


@dataclasses.dataclass(frozen=True)
class StoreRequest:
    """A store someone named, and who (for logs and errors)."""

    store: str
    source: str


def _mapping(value: object) -> typing.Dict[str, typing.Any]:
    """A dict view of nova's metadata/extra_specs fields (None: empty)."""
    if not value:
        return {}
    try:
        return dict(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return {}


def _named(value: object) -> typing.Optional[str]:
    """A metadata or extra spec value, None when blank (not set)."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def server_metadata(instance: typing.Any) -> typing.Dict[str, typing.Any]:
    """The server's user-set metadata (``nova server set --property``)."""
    return _mapping(getattr(instance, 'metadata', None))


def flavor_extra_specs(
        instance: typing.Any) -> typing.Dict[str, typing.Any]:
    return _mapping(getattr(getattr(instance, 'flavor', None),
                            'extra_specs', None))


def flavor_name(instance: typing.Any) -> str:
    flavor = getattr(instance, 'flavor', None)
    return str(getattr(flavor, 'name', None) or '(unnamed)')


def user_choice(conf: typing.Any, instance: typing.Any,
                image_id: str) -> typing.Optional[StoreRequest]:
    """The user's store from server metadata, or None.

    :raises StoreNotSelectable: the user named a store that is not in
        ``[glance_multistore] user_selectable_stores``.
    """
    choice = _named(server_metadata(instance).get(SNAPSHOT_STORE_KEY))
    if choice is None:
        return None
    source = 'server metadata %s' % SNAPSHOT_STORE_KEY
    allowed = list(conf.glance_multistore.user_selectable_stores)
    if choice not in allowed:
        raise exception.StoreNotSelectable(
            image_id=image_id, store=validation.printable(choice),
            source=source,
            allowed=', '.join(allowed) or 'none (%s is empty: users may '
                                          'not choose)' % USER_SELECTABLE_OPT)
    return StoreRequest(choice, "the user's choice (%s)" % source)


def flavor_choice(instance: typing.Any) -> typing.Optional[StoreRequest]:
    """The operator's store for this flavor, or None."""
    choice = _named(flavor_extra_specs(instance).get(SNAPSHOT_STORE_KEY))
    if choice is None:
        return None
    return StoreRequest(choice, 'flavor %s extra spec %s' % (
        flavor_name(instance), SNAPSHOT_STORE_KEY))


def requested_store(conf: typing.Any, instance: typing.Any,
                    image_id: str) -> typing.Optional[StoreRequest]:
    """The first store named by the user, the flavor or ``[glance] store``.

    :returns: a StoreRequest, or None when nobody named one.
    :raises StoreNotSelectable: see ``user_choice``.
    """
    request = (user_choice(conf, instance, image_id) or
               flavor_choice(instance))
    if request is not None:
        return request
    if conf.glance.store:
        return StoreRequest(str(conf.glance.store),
                            'configured [glance] store')
    return None


def split_stores(value: object) -> typing.List[str]:
    """``a, b,,c`` -> ['a', 'b', 'c'], first occurrence kept."""
    stores = []
    for store in str(value or '').split(','):
        store = store.strip()
        if store and store not in stores:
            stores.append(store)
    return stores


def copy_stores(conf: typing.Any, instance: typing.Any
                ) -> typing.Tuple[typing.List[str], str]:
    """The stores an image of this instance is copied to, and who said so.

    The flavor's ``glance_multistore:copy_to_stores`` replaces the option
    when present (an empty value: no copies for this flavor).
    """
    specs = flavor_extra_specs(instance)
    if COPY_TO_STORES_KEY in specs:
        return (split_stores(specs[COPY_TO_STORES_KEY]),
                'flavor %s extra spec %s' % (flavor_name(instance),
                                             COPY_TO_STORES_KEY))
    return (split_stores(','.join(conf.glance_multistore.copy_to_stores)),
            COPY_TO_STORES_OPT)


def option_findings(conf: typing.Any,
                    stores: typing.Optional['stores_mod.StoreList']
                    ) -> typing.List[typing.Tuple[bool, str]]:
    """Findings (ok, message) on the store lists of nova.conf.

    ``user_selectable_stores`` and ``copy_to_stores`` are validated as a
    target is; flavors' extra specs are validated at each upload.
    """
    findings: typing.List[typing.Tuple[bool, str]] = []
    group = conf.glance_multistore
    for option, names, role in (
            (USER_SELECTABLE_OPT, group.user_selectable_stores,
             'users may choose it'),
            (COPY_TO_STORES_OPT, group.copy_to_stores,
             'every image is copied to it')):
        findings.extend(validation.store_finding(option + ':', store, stores,
                                                 role)
                        for store in names)
    return findings
