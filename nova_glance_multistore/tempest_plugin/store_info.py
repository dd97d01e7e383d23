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

"""Pure helpers over Glance's store list and image records.

No tempest (or nova) import here: these are unit tested in the project's
unit environment, which has neither.
"""

from nova_glance_multistore import glance_flags


def store_ids(stores):
    """Ids of ``GET /v2/info/stores``'s ``stores`` list, in Glance's order."""
    return [s['id'] for s in stores]


def writable_stores(stores):
    """Ids of the stores that take uploads (``read-only`` is not "true").

    Glance's reserved ``os_glance_*`` stores (staging, tasks) are never
    listed by the API, but are dropped here too should one appear.
    """
    return [s['id'] for s in stores
            if not glance_flags.flag(s.get('read-only'))
            and not glance_flags.is_reserved(s['id'])]


def default_store(stores):
    """Id of Glance's default store, or None."""
    for s in stores:
        if glance_flags.flag(s.get('default')):
            return s['id']
    return None


def choose_boot_store(stores, configured='', avoid=()):
    """The store the tests upload their boot image into.

    ``configured`` (``[nova_glance_multistore] boot_image_store``) wins and
    must be a writable store. Otherwise the first writable store in Glance's
    order that is neither the default nor in ``avoid`` (e.g. the dedicated
    snapshot store); failing that, any writable store not in ``avoid``.

    :raises ValueError: with a message naming the stores, when no store fits.
    """
    writable = writable_stores(stores)
    if configured:
        if configured not in store_ids(stores):
            raise ValueError(
                'boot_image_store %r is not enabled in Glance (stores: %s)'
                % (configured, ', '.join(store_ids(stores))))
        if configured not in writable:
            raise ValueError(
                'boot_image_store %r is read-only in Glance (writable '
                'stores: %s)' % (configured, ', '.join(writable)))
        return configured
    default = default_store(stores)
    for sid in writable:
        if sid != default and sid not in avoid:
            return sid
    for sid in writable:
        if sid not in avoid:
            return sid
    raise ValueError(
        'no writable Glance store to boot from outside %s (writable '
        'stores: %s)' % (', '.join(avoid) or 'none', ', '.join(writable)))


def check_target_store(stores, store, what):
    """Raise ValueError unless ``store`` is enabled and writable."""
    if store not in store_ids(stores):
        raise ValueError('%s %r is not enabled in Glance (stores: %s)'
                         % (what, store, ', '.join(store_ids(stores))))
    if store not in writable_stores(stores):
        raise ValueError('%s %r is read-only in Glance' % (what, store))


def missing_stores(stores, expected):
    """The expected store ids Glance does not list, in expected's order."""
    enabled = set(store_ids(stores))
    return [sid for sid in expected if sid not in enabled]


def image_stores(image):
    """The set of store ids of an image record (``stores`` is "a,b")."""
    value = image.get('stores') or ''
    if isinstance(value, (list, tuple)):
        return {v for v in value if v}
    return {v.strip() for v in value.split(',') if v.strip()}


UNFINISHED_STATUSES = ('queued', 'saving')


def unfinished_images(images, image_ids=(), server_ids=()):
    """Images a test left unfinished (queued or saving).

    An image counts as the test's when its id is one the test created or
    its ``instance_uuid`` property (set by nova on snapshots and backups) is
    one of the test's servers.
    """
    image_ids = set(image_ids)
    server_ids = set(server_ids)
    return [img for img in images
            if img.get('status') in UNFINISHED_STATUSES
            and (img.get('id') in image_ids
                 or img.get('instance_uuid') in server_ids)]


def rbd_locations(locations, store):
    """The ``rbd://`` locations of an image filed under ``store``."""
    return [loc for loc in locations or ()
            if str(loc.get('url', '')).startswith('rbd://')
            and (loc.get('metadata') or {}).get('store') == store]


def location_import_tasks(tasks, urls):
    """Glance's ``location_import`` tasks that registered one of ``urls``.

    ``tasks``: ``GET /v2/images/{id}/tasks``'s list. Glance's add-location
    API (the ceph-native path) runs one per location; an upload runs none,
    although an upload into an rbd store also leaves an ``rbd://`` location.
    """
    return [t for t in tasks or ()
            if t.get('type') == 'location_import'
            and (t.get('input') or {}).get('loc_url') in urls]


def rbd_url_parts(url):
    """``fsid``, ``pool``, ``image``, ``snapshot`` of an ``rbd://`` URL.

    Glance's rbd store writes ``rbd://<fsid>/<pool>/<image>/<snapshot>``.

    :raises ValueError: for any other URL.
    """
    prefix = 'rbd://'
    parts = url[len(prefix):].split('/') if url.startswith(prefix) else []
    if len(parts) != 4 or not all(parts):
        raise ValueError('not an rbd://fsid/pool/image/snapshot URL: %r'
                         % url)
    return dict(zip(('fsid', 'pool', 'image', 'snapshot'), parts))


def site_stores(entries):
    """``[(zone, store), ...]`` of ``site_stores`` ("zone:store" each).

    :raises ValueError: naming an entry that is not "zone:store", or a
        zone given twice.
    """
    sites = []
    for entry in entries:
        zone, sep, store = entry.partition(':')
        if not (sep and zone.strip() and store.strip()):
            raise ValueError('site_stores entry %r is not '
                             '"availability-zone:store"' % entry)
        if zone.strip() in dict(sites):
            raise ValueError('site_stores names zone %r twice' % zone)
        sites.append((zone.strip(), store.strip()))
    return sites
