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

"""Glance's store list, parsed strictly and cached.

Every snapshot, backup and shelve validates its target against
``GET /v2/info/stores``; caching the answer for a short TTL keeps that to
no extra Glance call per upload on a busy host.
"""

import dataclasses
import threading
import time
import typing

from nova_glance_multistore import exception
from nova_glance_multistore import glance_flags

RESERVED_PREFIX = glance_flags.RESERVED_PREFIX


@dataclasses.dataclass(frozen=True)
class Store:
    """One entry of ``GET /v2/info/stores``."""

    id: str
    description: str = ''
    default: bool = False
    read_only: bool = False

    @property
    def reserved(self) -> bool:
        return glance_flags.is_reserved(self.id)

    @property
    def writable(self) -> bool:
        return not (self.read_only or self.reserved)


@dataclasses.dataclass(frozen=True)
class StoreList:
    """The stores Glance offers, in Glance's order."""

    stores: typing.Tuple[Store, ...]

    @classmethod
    def from_api(cls, body: object) -> 'StoreList':
        """Parse the JSON body of ``GET /v2/info/stores``.

        :raises StoreCatalogUnavailable: when the answer is not the
            documented shape; a wrong guess here could send images to the
            wrong place, so nothing is assumed.
        """
        if not isinstance(body, dict) or not isinstance(
                body.get('stores'), list):
            raise exception.StoreCatalogUnavailable(
                reason='the answer has no "stores" list')
        stores = []
        for entry in body['stores']:
            if not isinstance(entry, dict) or not isinstance(
                    entry.get('id'), str) or not entry['id']:
                raise exception.StoreCatalogUnavailable(
                    reason='a store entry has no string "id"')
            description = entry.get('description')
            stores.append(Store(
                id=entry['id'],
                description=description if isinstance(
                    description, str) else '',
                default=glance_flags.flag(entry.get('default')),
                read_only=glance_flags.flag(entry.get('read-only'))))
        ids = [s.id for s in stores]
        if len(set(ids)) != len(ids):
            raise exception.StoreCatalogUnavailable(
                reason='store ids are not unique')
        return cls(tuple(stores))

    def find(self, store_id: object) -> typing.Optional[Store]:
        for store in self.stores:
            if store.id == store_id:
                return store
        return None

    @property
    def default(self) -> typing.Optional[Store]:
        for store in self.stores:
            if store.default:
                return store
        return None

    @property
    def writable(self) -> typing.Tuple[Store, ...]:
        return tuple(s for s in self.stores if s.writable)

    def writable_ids(self) -> typing.List[str]:
        return [s.id for s in self.writable]


class StoreCatalog:
    """A thread-safe, TTL-cached view of Glance's store list.

    ``fetch(context)`` returns the parsed body of ``GET /v2/info/stores`` or
    None when Glance answers 404 (multi-store off); both answers are cached.
    """

    _UNSET: typing.Any = object()

    def __init__(self,
                 fetch: typing.Callable[[typing.Any],
                                        typing.Optional[typing.Any]],
                 ttl: float,
                 clock: typing.Callable[[], float] = time.monotonic
                 ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._value: typing.Any = self._UNSET
        self._fetched_at = 0.0

    def get(self, context: typing.Any) -> typing.Optional[StoreList]:
        """Return a StoreList, or None when multi-store is off in Glance."""
        with self._lock:
            if self._value is not self._UNSET and (
                    self._clock() - self._fetched_at < self._ttl):
                cached: typing.Optional[StoreList] = self._value
                return cached
        body = self._fetch(context)
        value = None if body is None else StoreList.from_api(body)
        with self._lock:
            self._value = value
            self._fetched_at = self._clock()
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._value = self._UNSET
