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

"""Ceph-native snapshot into the target rbd store's pool: nova's side.

When the target store is an rbd store on the cluster that holds the
instance disk, the snapshot is a clone inside Ceph (rbd_steps), into the
target store's pool, flattened (``[glance_multistore] ceph_native_snapshot
= flatten``) or copy-on-write (rbd_cow). This module wraps nova's image
backend so that nova's libvirt driver asks us for that clone; any failure
makes nova stream into the target store instead.
"""

import dataclasses
import typing

from nova import exception as nova_exception
from nova.virt.libvirt import imagebackend
from oslo_log import log as logging

from nova_glance_multistore import exception
from nova_glance_multistore import rbd_cow
from nova_glance_multistore import rbd_steps
from nova_glance_multistore import rbd_stores

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Collaborators:
    """What a store-aware disk needs from its nova-compute."""

    conf: typing.Any
    targets: typing.Any  # image_api.UploadTargets
    glance: typing.Any  # glance_client.GlanceFacts
    pending: typing.Any  # pending_cleanups.PendingCleanups


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

    def __init__(self, disk, collaborators):
        self._disk = disk
        self._with = collaborators
        self._conf = collaborators.conf

    def __getattr__(self, name):
        return getattr(self._disk, name)

    def direct_snapshot(self, context, snapshot_name, image_format,
                        image_id, base_image_id):
        target = self._with.targets.get(image_id)
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
            self._conf, self._with.glance, context, target.store)
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
            url = rbd_steps.snapshot_into_pool(
                self._disk.driver, self._disk.driver.pool,
                self._disk.rbd_name, snapshot_name, disk_fsid,
                location.pool, image_id, self._with.pending, max_depth)
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

    def __init__(self, backend, collaborators):
        self._backend = backend
        self._with = collaborators

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def by_libvirt_path(self, instance, path, image_type=None):
        return StoreAwareDisk(
            self._backend.by_libvirt_path(instance, path, image_type),
            self._with)
