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

"""Which Glance stores are rbd stores, and on which cluster and pool.

A ceph-native snapshot is possible only into an rbd store of the cluster
that holds the instance disk. Glance reports each store's ``fsid`` and
``pool`` in ``GET /v2/info/stores/detail`` (admin or service role); when
that is not readable, operators list them in ``[glance_multistore]
rbd_store_locations``.
"""

import dataclasses

from oslo_log import log as logging

from nova_glance_multistore import store_details

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RbdLocation:
    fsid: str
    pool: str


def from_stores_detail(body):
    """{store id: RbdLocation} from ``/v2/info/stores/detail``."""
    found = {}
    for entry in (body or {}).get('stores') or []:
        if not isinstance(entry, dict) or entry.get('type') != 'rbd':
            continue
        props = entry.get('properties') or {}
        fsid, pool = props.get('fsid'), props.get('pool')
        if isinstance(fsid, str) and isinstance(pool, str) and fsid and pool:
            found[entry.get('id')] = RbdLocation(fsid, pool)
    return found


def from_config(entries):
    """{store id: RbdLocation} from ``store:fsid:pool`` entries."""
    found = {}
    for entry in entries or []:
        parts = entry.split(':')
        if len(parts) != 3 or not all(p.strip() for p in parts):
            LOG.warning('Ignoring [glance_multistore] rbd_store_locations '
                        'entry %r: expected store:fsid:pool.', entry)
            continue
        store, fsid, pool = (p.strip() for p in parts)
        found[store] = RbdLocation(fsid, pool)
    return found


DETAIL = store_details.DETAIL
CONFIG = '[glance_multistore] rbd_store_locations'
UNKNOWN = ('not an rbd store with a known cluster and pool (neither %s '
           'nor %s name it)' % (DETAIL, CONFIG))


def known_locations(conf, glance, context):
    """{store id: (RbdLocation, source)}; stores/detail wins over config.

    stores/detail as store_details reads it (nova's service user asks when
    the user may not).
    """
    found = {store: (location, CONFIG) for store, location in from_config(
        conf.glance_multistore.rbd_store_locations).items()}
    body = store_details.stores_detail(conf, glance, context)
    if body is not None:
        found.update((store, (location, DETAIL)) for store, location in
                     from_stores_detail(body).items())
    return found


def rbd_location(conf, glance, context, store_id):
    """The (fsid, pool) of an rbd store, and where that came from.

    :returns: (RbdLocation or None, source description)
    """
    return known_locations(conf, glance, context).get(
        store_id, (None, UNKNOWN))
