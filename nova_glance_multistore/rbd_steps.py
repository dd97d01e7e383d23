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

"""The Ceph steps of a ceph-native snapshot, and their undoing.

Snapshot the instance disk, clone it into the target store's pool, flatten
the clone or keep it copy-on-write (rbd_cow), snapshot ``snap`` and protect
it. Any failure removes every clone and snapshot made so far, or records
what Ceph could not remove in the pending cleanups (cleanups retries it).
"""

from nova import exception as nova_exception
from nova.storage import rbd_utils
from oslo_log import log as logging

from nova_glance_multistore import exception
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import rbd_cow

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


def is_gone(error):
    rbd = getattr(rbd_utils, 'rbd', None)
    return rbd is not None and isinstance(error, rbd.ImageNotFound)


def remove_clone_now(driver, pool, image_id):
    """Remove a clone and its snapshot; a clone already gone is fine."""
    try:
        driver.remove_snap(image_id, IMAGE_SNAPSHOT, pool=pool, force=True,
                           ignore_errors=True)
        driver.destroy_volume(image_id, pool=pool)
    except Exception as e:
        if not is_gone(e):
            raise


def remove_disk_snapshot_now(driver, pool, image, snapshot):
    try:
        driver.remove_snap(image, snapshot, pool=pool, force=True,
                           ignore_errors=True)
    except Exception as e:
        if not is_gone(e):
            raise


def remove_clone(driver, fsid, pool, image_id, pending):
    """Remove a clone now, or record it; returns whether it is gone."""
    try:
        remove_clone_now(driver, pool, image_id)
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
        remove_disk_snapshot_now(driver, pool, image, snapshot)
    except Exception as e:
        LOG.warning('Could not remove snapshot %(pool)s/%(image)s@%(snap)s '
                    '(%(error)s); it will be removed once Ceph answers '
                    'again.', {'pool': pool, 'image': image,
                               'snap': snapshot, 'error': e})
        pending.add(pending_cleanups.RBD_SNAPSHOT, fsid=fsid, pool=pool,
                    image=image, snapshot=snapshot)
