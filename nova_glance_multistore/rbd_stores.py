"""Which Glance stores are rbd stores, and on which cluster and pool.

A ceph-native snapshot is possible only into an rbd store of the cluster
that holds the instance disk. Glance reports each store's ``fsid`` and
``pool`` in ``GET /v2/info/stores/detail`` (admin or service role); when
that is not readable, operators list them in ``[glance_multistore]
rbd_store_locations``.
"""

import dataclasses

from oslo_log import log as logging

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


def rbd_location(conf, glance, context, store_id):
    """The (fsid, pool) of an rbd store, and where that came from.

    :returns: (RbdLocation or None, source description)
    """
    configured = from_config(conf.glance_multistore.rbd_store_locations)
    try:
        detail = from_stores_detail(glance.stores_info_detail(context))
    except Exception as e:
        LOG.debug('GET /v2/info/stores/detail not readable (%s); using '
                  '[glance_multistore] rbd_store_locations.', e)
        detail = None
    if detail is not None and store_id in detail:
        return detail[store_id], 'GET /v2/info/stores/detail'
    if store_id in configured:
        return configured[store_id], '[glance_multistore] rbd_store_locations'
    return None, ('not an rbd store with a known cluster and pool '
                  '(neither /v2/info/stores/detail nor '
                  '[glance_multistore] rbd_store_locations name it)')
