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

"""Ceph-native snapshot into the target rbd store's pool.

When the target store is an rbd store on the cluster that holds the
instance disk, the snapshot is a clone inside Ceph: snapshot the disk,
clone into the target store's pool, then either flatten it
(``[glance_multistore] ceph_native_snapshot = flatten``: an independent
image, every byte copied inside Ceph) or keep it a copy-on-write clone
(``copy-on-write``, see rbd_cow), snapshot ``snap`` and protect it. Any
failure removes every clone and snapshot made so far (or records it in the
pending cleanups when Ceph cannot be reached), and the caller streams into
the target store instead.
"""

import time

from nova import exception as nova_exception
from nova.storage import rbd_utils
from nova.virt.libvirt import imagebackend
from oslo_log import log as logging

from nova_glance_multistore import exception
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import rbd_cow
from nova_glance_multistore import rbd_stores

LOG = logging.getLogger(__name__)

IMAGE_SNAPSHOT = 'snap'  # the snapshot name Glance's rbd store uses


def snapshot_into_pool(driver, src_pool, src_name, snapshot_name, fsid,
                       dest_pool, image_id, pending, max_depth=None):
    """Clone ``src_pool/src_name`` into ``dest_pool/image_id@snap``.

    ``max_depth`` None: the clone is flattened (an independent image).
    Otherwise it stays a copy-on-write clone, unless it would sit on a
    chain of more than ``max_depth`` images: then it is flattened before it
    is registered, while nothing can read it yet.

    Whatever cannot be removed after a failure (Ceph unreachable) is
    recorded in ``pending`` and removed later.

    :returns: the rbd location URL to register in Glance.
    :raises: whatever Ceph raised, after removing what was made.
    """
    try:
        driver.create_snap(src_name, snapshot_name, pool=src_pool,
                           protect=True)
        try:
            if max_depth is None:
                source = {'url': 'rbd://%s/%s/%s/%s' % (
                    fsid, src_pool, src_name, snapshot_name)}
                driver.clone(source, image_id, dest_pool=dest_pool)
                driver.flatten(image_id, pool=dest_pool)
            else:
                depth = rbd_cow.clone(driver, src_pool, src_name,
                                      snapshot_name, dest_pool, image_id)
                if depth > max_depth:
                    LOG.info('Image %(image_id)s: flattening its clone '
                             'before registering it: it would depend on a '
                             'chain of %(depth)d images, more than '
                             '[glance_multistore] '
                             'copy_on_write_max_chain_depth = %(max)d.',
                             {'image_id': image_id, 'depth': depth,
                              'max': max_depth})
                    driver.flatten(image_id, pool=dest_pool)
            driver.create_snap(image_id, IMAGE_SNAPSHOT, pool=dest_pool,
                               protect=True)
        except nova_exception.Forbidden:
            # The clone saying nova's cephx user may not write the pool: no
            # clone was made.
            raise
        except Exception as e:
            if not remove_clone(driver, fsid, dest_pool, image_id, pending):
                raise exception.CephCloneLeftBehind(
                    image_id=image_id, pool=dest_pool, reason=e) from e
            raise
    finally:
        # The clone is flattened, a format 2 child (the snapshot then waits
        # in the trash namespace), or gone: the disk snapshot can go.
        remove_disk_snapshot(driver, fsid, src_pool, src_name,
                             snapshot_name, pending)
    return 'rbd://%s/%s/%s/%s' % (fsid, dest_pool, image_id, IMAGE_SNAPSHOT)


def _is_gone(error):
    rbd = getattr(rbd_utils, 'rbd', None)
    return rbd is not None and isinstance(error, rbd.ImageNotFound)


def _remove_clone(driver, pool, image_id):
    """Remove a clone and its snapshot; a clone already gone is fine."""
    try:
        driver.remove_snap(image_id, IMAGE_SNAPSHOT, pool=pool, force=True,
                           ignore_errors=True)
        driver.destroy_volume(image_id, pool=pool)
    except Exception as e:
        if not _is_gone(e):
            raise


def _remove_disk_snapshot(driver, pool, image, snapshot):
    try:
        driver.remove_snap(image, snapshot, pool=pool, force=True,
                           ignore_errors=True)
    except Exception as e:
        if not _is_gone(e):
            raise


def remove_clone(driver, fsid, pool, image_id, pending):
    """Remove a clone now, or record it; returns whether it is gone."""
    try:
        _remove_clone(driver, pool, image_id)
        return True
    except Exception as e:
        LOG.warning('Image %(image)s: could not remove its clone '
                    '%(pool)s/%(image)s (%(error)s); it will be removed '
                    'once Ceph answers again.',
                    {'pool': pool, 'image': image_id, 'error': e})
        pending.add(pending_cleanups.RBD_CLONE, fsid=fsid, pool=pool,
                    image=image_id)
        return False


def remove_disk_snapshot(driver, fsid, pool, image, snapshot, pending):
    try:
        _remove_disk_snapshot(driver, pool, image, snapshot)
    except Exception as e:
        LOG.warning('Could not remove snapshot %(pool)s/%(image)s@%(snap)s '
                    '(%(error)s); it will be removed once Ceph answers '
                    'again.', {'pool': pool, 'image': image,
                               'snap': snapshot, 'error': e})
        pending.add(pending_cleanups.RBD_SNAPSHOT, fsid=fsid, pool=pool,
                    image=image, snapshot=snapshot)


def retry_pending_rbd_cleanups(pending, entries, driver_factory=None,
                               deadline=None, clock=time.monotonic):
    """Remove the clones and disk snapshots a Ceph outage left behind.

    ``entries`` are ``pending.entries()`` as the caller read them. Only rbd
    entries of the cluster nova-compute's rbd driver reaches (same fsid)
    are touched; each one that still fails stays recorded. No new removal
    starts once ``clock()`` reaches ``deadline``.

    :returns: (keys attempted, keys still pending that were due)
    """
    entries = [(key, entry) for key, entry in entries
               if entry['kind'] != pending_cleanups.GLANCE_IMAGE]
    if not entries:
        return [], []
    try:
        driver = (driver_factory or rbd_utils.RBDDriver)()
        fsid = driver.get_fsid()
    except Exception as e:
        LOG.warning('%(count)d rbd leftovers stay pending: cannot reach '
                    'Ceph (%(error)s).', {'count': len(entries), 'error': e})
        keys = [key for key, _entry in entries]
        return keys, keys
    attempted, failed = [], []
    for key, entry in entries:
        if entry.get('fsid') != fsid:
            # Another cluster's: kept, and not looked at again at once.
            failed.append(key)
            continue
        if deadline is not None and clock() >= deadline:
            break
        attempted.append(key)
        try:
            if entry['kind'] == pending_cleanups.RBD_CLONE:
                _remove_clone(driver, entry['pool'], entry['image'])
            else:
                _remove_disk_snapshot(driver, entry['pool'], entry['image'],
                                      entry['snapshot'])
        except Exception as e:
            LOG.warning('Pending rbd cleanup %(key)s failed again: '
                        '%(error)s', {'key': key, 'error': e})
            failed.append(key)
            continue
        LOG.info('Removed rbd leftover %(key)s of an earlier failed '
                 'snapshot.', {'key': key})
        pending.remove(key)
    return attempted, failed


def can_register_rbd_location(conf, context):
    """Glance adds a non-http location only for the ``service`` role.

    nova-compute has it when it sends its service token, or when the
    request's own user holds it.
    """
    return bool(conf.service_user.send_service_user_token or
                'service' in (getattr(context, 'roles', None) or []))


class StoreAwareDisk:
    """A nova image-backend disk whose direct snapshot honours the target.

    nova's own rbd direct snapshot clones into the pool of the *base
    image* and registers that location, whatever store was chosen; here
    the clone goes to the target store's pool, or there is no direct
    snapshot at all (NotImplementedError makes nova stream the disk into
    the target store).
    """

    def __init__(self, disk, conf, targets, glance, pending):
        self._disk = disk
        self._conf = conf
        self._targets = targets
        self._glance = glance
        self._pending = pending

    def __getattr__(self, name):
        return getattr(self._disk, name)

    def direct_snapshot(self, context, snapshot_name, image_format,
                        image_id, base_image_id):
        target = self._targets.get(image_id)
        if target is None or target.store is None:
            # Not a planned upload, or multi-store off: nova's behaviour.
            return self._disk.direct_snapshot(
                context, snapshot_name, image_format, image_id,
                base_image_id)
        if not isinstance(self._disk, imagebackend.Rbd):
            raise NotImplementedError()
        if not can_register_rbd_location(self._conf, context):
            LOG.info('Image %(image_id)s: streaming into store %(store)s '
                     '(no ceph-native snapshot: registering an rbd '
                     'location in Glance needs the service role; enable '
                     '[service_user] send_service_user_token).',
                     {'image_id': image_id, 'store': target.store})
            raise NotImplementedError()
        location, source = rbd_stores.rbd_location(
            self._conf, self._glance, context, target.store)
        disk_fsid = self._disk.driver.get_fsid()
        if location is None or location.fsid != disk_fsid:
            why = source if location is None else (
                'its cluster %s is not the disk\'s cluster %s' % (
                    location.fsid, disk_fsid))
            LOG.info('Image %(image_id)s: streaming into store %(store)s '
                     '(no ceph-native snapshot: %(why)s).',
                     {'image_id': image_id, 'store': target.store,
                      'why': why})
            raise NotImplementedError()
        max_depth = self._copy_on_write_depth(image_id)
        try:
            url = snapshot_into_pool(
                self._disk.driver, self._disk.driver.pool,
                self._disk.rbd_name, snapshot_name, disk_fsid,
                location.pool, image_id, self._pending, max_depth)
        except exception.CephCloneLeftBehind as e:
            LOG.error('Image %(image_id)s: %(error)s',
                      {'image_id': image_id, 'error': e})
            raise
        except Exception as e:
            LOG.warning('Image %(image_id)s: ceph-native snapshot into '
                        '%(pool)s failed (%(error)s); what it made is '
                        'removed (or pending removal), streaming into store '
                        '%(store)s instead.',
                        {'image_id': image_id, 'pool': location.pool,
                         'error': e, 'store': target.store})
            raise nova_exception.ImageUnacceptable(
                image_id=image_id, reason='ceph-native snapshot failed: %s'
                % e)
        LOG.info('Image %(image_id)s: ceph-native snapshot into pool '
                 '%(pool)s of store %(store)s (%(mode)s, location from '
                 '%(source)s).',
                 {'image_id': image_id, 'pool': location.pool,
                  'store': target.store, 'source': source,
                  'mode': rbd_cow.FLATTEN if max_depth is None
                  else rbd_cow.COPY_ON_WRITE})
        return url

    def _copy_on_write_depth(self, image_id):
        """The chain depth limit, or None for a flattened snapshot.

        None also when this host misses a copy-on-write precondition: one
        WARNING says which and how to fix it.
        """
        group = self._conf.glance_multistore
        if group.ceph_native_snapshot != rbd_cow.COPY_ON_WRITE:
            return None
        try:
            missing = rbd_cow.missing_preconditions(
                self._disk.driver, group.stores_cache_ttl)
        except Exception as e:
            missing = [rbd_cow.Precondition(
                'preconditions', False, 'cannot be read (%s)' % e,
                'check that Ceph answers')]
        if missing:
            LOG.warning('Image %(image_id)s: flattened ceph-native snapshot '
                        'instead of copy-on-write ([glance_multistore] '
                        'ceph_native_snapshot), this host misses: '
                        '%(missing)s.',
                        {'image_id': image_id, 'missing': '; '.join(
                            p.describe() for p in missing)})
            return None
        return group.copy_on_write_max_chain_depth


class StoreAwareImageBackend:
    """nova's image Backend handing out StoreAwareDisk objects."""

    def __init__(self, backend, conf, targets, glance, pending):
        self._backend = backend
        self._conf = conf
        self._targets = targets
        self._glance = glance
        self._pending = pending

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def by_libvirt_path(self, instance, path, image_type=None):
        return StoreAwareDisk(
            self._backend.by_libvirt_path(instance, path, image_type),
            self._conf, self._targets, self._glance, self._pending)
