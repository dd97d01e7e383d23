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

"""Copy-on-write ceph-native snapshots: a format 2 clone, never flattened.

The clone of the instance disk's snapshot is registered in Glance as it is:
no byte is copied, so the snapshot takes the same time whatever the disk
size. The disk snapshot it depends on is removed at once; with a format 2
child Ceph keeps it in the disk's trash namespace until the clone goes.

Why never flattened once registered: on Ceph 16.2 a reader that opened the
clone, or a clone of it (an instance booted from the snapshot, a Glance
download), before a flatten ended reads zeros once the parent snapshot
goes, and with format 2 it goes by itself when the flatten ends. So the
clone is flattened only before it is registered, to bound the chain of
clones, when no reader can exist yet.

Format 2 is asked for on this module's own Ceph connections only: raising
the cluster's minimum client to mimic would make nova's clones of Glance
images format 2 as well, and Glance would then delete images still in use.
"""

import dataclasses
import json
import threading

from nova import exception as nova_exception
from nova.storage import rbd_utils

from nova_glance_multistore import ttl_cache

FLATTEN = 'flatten'
COPY_ON_WRITE = 'copy-on-write'

# Ceph releases in order; clone format 2 needs mimic OSDs and librbd.
RELEASES = ('luminous', 'mimic', 'nautilus', 'octopus', 'pacific', 'quincy',
            'reef', 'squid', 'tentacle')
TRUE = ('true', '1', 'yes', 'on')


@dataclasses.dataclass(frozen=True)
class Precondition:
    """One condition copy-on-write snapshots need on this host."""

    name: str
    ok: bool
    detail: str
    fix: str = ''

    def describe(self):
        text = '%s: %s' % (self.name, self.detail)
        return text if self.ok else '%s (%s)' % (text, self.fix)


def _rbd():
    return rbd_utils.rbd


def _rados():
    return rbd_utils.rados


def in_native_thread(fn, *args, **kwargs):
    """Call librados/librbd off eventlet's hub, as nova's RBD driver does.

    In nova's native threading mode (nova 34's default) a plain call.
    """
    from nova import utils
    if utils.concurrency_mode_threading():
        return fn(*args, **kwargs)
    return utils.get_eventlet().tpool.execute(fn, *args, **kwargs)


def connect(driver, conf=None):
    """A Ceph client made the way nova's RBDDriver makes one.

    Same cephx user, ceph.conf and connect timeout, so that the settings
    read on it (``[client.<user>]`` sections, ``ceph config`` of the mon)
    are the ones nova's own calls get; ``conf`` adds options to this
    connection alone.
    """
    client = _rados().Rados(rados_id=driver.rbd_user,
                            conffile=driver.ceph_conf, conf=conf or {})
    try:
        client.connect(timeout=driver.rbd_connect_timeout)
    except Exception:
        client.shutdown()
        raise
    return client


def features_of(client):
    """``rbd_default_features`` of a client as a bitmask, as nova reads it.

    nova's clone passes its client's default features to every clone.
    """
    value = client.conf_get('rbd_default_features') or ''
    if value.strip().isdigit():
        return int(value) or _rbd().RBD_FEATURE_LAYERING
    names = {'layering': 'LAYERING', 'striping': 'STRIPINGV2',
             'exclusive-lock': 'EXCLUSIVE_LOCK', 'object-map': 'OBJECT_MAP',
             'fast-diff': 'FAST_DIFF', 'deep-flatten': 'DEEP_FLATTEN',
             'journaling': 'JOURNALING', 'data-pool': 'DATA_POOL'}
    mask = 0
    for name in value.replace(',', ' ').split():
        mask |= getattr(_rbd(), 'RBD_FEATURE_%s' % names.get(name, '_'), 0)
    return mask or _rbd().RBD_FEATURE_LAYERING


def check_preconditions(driver):
    """What copy-on-write snapshots need, read as nova's client sees it.

    :returns: a list of Precondition, one per condition.
    """
    user = 'client.%s' % (driver.rbd_user or 'admin')
    client = connect(driver)
    try:
        release = _osd_release(client)
        features = features_of(client)
        trash = (client.conf_get('rbd_move_parent_to_trash_on_remove') or
                 '').lower()
        try:
            client.conf_set('rbd_default_clone_format', '2')
            librbd = True
        except Exception:
            librbd = False
    finally:
        client.shutdown()
    known = release in RELEASES
    osds_ok = (not known) or RELEASES.index(release) >= 1
    deep = bool(features & _rbd().RBD_FEATURE_DEEP_FLATTEN)
    return [
        Precondition(
            'clone format 2', osds_ok and librbd,
            'the cluster requires OSD release %s; librbd %s clone format 2'
            % (release or 'unknown',
               'accepts' if librbd else 'does not accept'),
            'clone format 2 needs mimic or newer OSDs and librbd: '
            '"ceph osd require-osd-release <release>" once every OSD runs '
            'it, and an up to date librbd on this host'),
        Precondition(
            'deep-flatten', deep,
            'rbd_default_features of %s %s deep-flatten' % (
                user, 'include' if deep else 'do not include'),
            'add deep-flatten to rbd_default_features of %s (the default '
            'features, 61, include it)' % user),
        Precondition(
            'rbd_move_parent_to_trash_on_remove', trash in TRUE,
            '%s for %s' % (trash or 'false', user),
            'without it nova cannot delete the disk of an instance that has '
            'a copy-on-write snapshot, and says nothing: set "ceph config '
            'set %s rbd_move_parent_to_trash_on_remove true" or put it in '
            'the [%s] section of %s' % (user, user, driver.ceph_conf)),
    ]


def _osd_release(client):
    ret, out, _err = client.mon_command(
        json.dumps({'prefix': 'osd dump', 'format': 'json'}), b'')
    if ret:
        return None
    return json.loads(out).get('require_osd_release')


class PreconditionCache:
    """Preconditions per (ceph.conf, cephx user), kept for a TTL."""

    def __init__(self):
        self._lock = threading.Lock()
        self._caches = {}

    def get(self, driver, ttl):
        key = (driver.ceph_conf, driver.rbd_user)
        with self._lock:
            cache = self._caches.setdefault(key, ttl_cache.TtlCache())
        return cache.get(ttl, lambda: in_native_thread(
            check_preconditions, driver))


PRECONDITIONS = PreconditionCache()


def missing_preconditions(driver, ttl):
    """The preconditions this host misses (cached); [] means go ahead."""
    return [p for p in PRECONDITIONS.get(driver, ttl) if not p.ok]


def clone(driver, src_pool, src_name, snapshot_name, dest_pool, dest_name):
    """Clone ``src_pool/src_name@snapshot_name`` as a format 2 clone.

    :returns: the new clone's chain depth (1 for a clone of a flat disk).
    :raises: nova's Forbidden when nova's cephx user may not write the
        pool (no clone was made); ValueError when the clone lacks
        deep-flatten (the clone is made: the caller removes it).
    """
    return in_native_thread(_clone, driver, src_pool, src_name,
                            snapshot_name, dest_pool, dest_name)


def _clone(driver, src_pool, src_name, snapshot_name, dest_pool, dest_name):
    rbd = _rbd()
    client = connect(driver, {'rbd_default_clone_format': '2'})
    try:
        with client.open_ioctx(src_pool) as src, \
                client.open_ioctx(dest_pool) as dest:
            try:
                rbd.RBD().clone(src, src_name, snapshot_name, dest,
                                dest_name, features=features_of(client))
            except rbd.PermissionError:
                raise nova_exception.Forbidden(
                    'no write permission on storage pool %s' % dest_pool)
            with rbd.Image(dest, dest_name, read_only=True) as made:
                if not made.features() & rbd.RBD_FEATURE_DEEP_FLATTEN:
                    raise ValueError('clone %s/%s has no deep-flatten '
                                     'feature' % (dest_pool, dest_name))
                return chain_depth(client, made)
    finally:
        client.shutdown()


def chain_depth(client, image):
    """How many images ``image`` depends on: parent, its parent, ...

    Parents in the trash namespace count as well: they hold data.
    """
    rbd = _rbd()
    depth, opened = 0, []
    try:
        current = image
        while True:
            try:
                spec = current.get_parent_image_spec()
            except rbd.ImageNotFound:
                return depth
            depth += 1
            parent_id = current.parent_id()
            ioctx = client.open_ioctx(spec['pool_name'])
            opened.append(ioctx)
            if spec.get('pool_namespace'):
                ioctx.set_namespace(spec['pool_namespace'])
            # By id: a parent in the trash has no name any more.
            current = rbd.Image(ioctx, image_id=parent_id, read_only=True)
            opened.append(current)
    finally:
        for thing in reversed(opened):
            thing.close()
