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

"""Configuration options.

Nothing is registered at import time: nova-compute registers the options
when our driver starts (``register_opts(CONF)``), and
``oslo-config-generator --namespace nova_glance_multistore`` documents them
through ``list_opts()``.
"""

import copy

from oslo_config import cfg

GLANCE_GROUP = 'glance'
GROUP = 'glance_multistore'


def _group():
    """A new OptGroup each time it is registered.

    oslo.config copies a registered group shallowly: one shared object
    would share its options' overrides between every ConfigOpts.
    """
    return cfg.OptGroup(
        GROUP,
        title='Store-aware image uploads',
        help='How nova-compute chooses the Glance store for the images it '
             'uploads for instance snapshots, backups and shelves.')


store_opt = cfg.StrOpt(
    'store',
    help="""
The Glance store that receives every image nova-compute uploads for an
instance snapshot, backup or shelve.

Possible values:

* Unset (default): the store that holds the instance's base image, or
  Glance's default store when the instance was not booted from an image
  or that store cannot take it.
* The id of a writable store listed by Glance's ``GET /v2/info/stores``
  (an ``enabled_backends`` name of glance-api.conf).

Related options:

* ``[glance_multistore] on_unusable_store`` says what happens when this store
  is unknown to Glance, read-only or reserved.
""")

GLANCE_OPTS = [store_opt]

OPTS = [
    cfg.ListOpt(
        'upload_hooks',
        default=['multistore'],
        help="""
Image upload hooks to run, in this order, before nova-compute uploads a
snapshot, backup or shelve image.

Hooks are loaded by name from the ``nova_glance_multistore.upload_hooks``
entry point namespace: install a package that registers a hook there and
add its name here. ``multistore`` is the built-in hook that picks the
target store. The chosen store is always validated against Glance after
the last hook, whatever hook chose it.
"""),
    cfg.IntOpt(
        'stores_cache_ttl',
        default=60,
        min=0,
        help="""
Seconds for which the answer of Glance's ``GET /v2/info/stores`` is reused
by this nova-compute before it is asked again. 0 asks Glance before every
upload. Glance's store list only changes when glance-api is reconfigured
and restarted.
"""),
    cfg.StrOpt(
        'on_unusable_store',
        default='refuse',
        choices=[
            ('refuse', 'Fail the snapshot, backup or shelve with an error '
                       'that names the store and the valid ones, and '
                       'delete the image nova-api queued for it.'),
            ('default', "Upload to Glance's default store instead and log "
                        'a warning.'),
        ],
        help="""
What nova-compute does when the store chosen for an upload (``[glance]
store``, or one chosen by a hook) is not usable: unknown to Glance,
read-only, reserved for Glance's own use (``os_glance_*``), or multi-store
is not enabled in Glance.
"""),
    cfg.ListOpt(
        'user_selectable_stores',
        default=[],
        help="""
Glance stores a user may choose for the snapshots, backups and shelves of
a server, by setting the server metadata key
``glance_multistore:snapshot_store`` (``openstack server set --property
glance_multistore:snapshot_store=STORE SERVER``). The user's choice comes
first, before the flavor's extra spec and ``[glance] store``.

Empty (default): users may not choose. A server whose metadata names a
store that is not listed here cannot be snapshotted: the snapshot fails
with an error on the instance action that names the allowed stores, and
the image nova-api queued is deleted; ``on_unusable_store`` does not
apply. Each store listed must be a writable Glance store
(``nova-glance-multistore check``).
"""),
    cfg.ListOpt(
        'copy_to_stores',
        default=[],
        help="""
Glance stores every snapshot, backup and shelve image of this host is also
copied to once its upload is active (for instance a central store for the
snapshots of an edge site). The copy is Glance's ``copy-image`` import,
made with nova's service user (``[service_user]``: Glance's ``copy_image``
policy needs the admin role by default), and is best effort: a copy that
fails leaves the image active in its first store, is logged with the image
id and shows in the image's ``os_glance_failed_import`` property
(``nova-glance-multistore image IMAGE_ID``). A flavor's extra spec
``glance_multistore:copy_to_stores`` (comma separated, may be empty)
replaces this list for its servers.

Glance must list ``copy-image`` in ``enabled_import_methods`` and have a
staging store (``[os_glance_staging_store]``). A store that is unknown to
Glance or read-only is skipped with an ERROR.
"""),
    cfg.IntOpt(
        'copy_wait_timeout',
        default=600,
        min=1,
        help="""
Seconds a copy to ``copy_to_stores`` waits in the background for its image
to become active (a ceph-native snapshot's location is added by a Glance
task) before it is given up with an ERROR. The snapshot does not wait for
its copies.
"""),
    cfg.ListOpt(
        'rbd_store_locations',
        default=[],
        help="""
The Ceph cluster and pool of Glance's rbd stores, as ``store:fsid:pool``
entries, for when nova-compute may not read Glance's
``GET /v2/info/stores/detail`` (admin or service role), which is preferred.

When the store chosen for a snapshot is an rbd store on the same Ceph
cluster (fsid) as the instance disk (``[libvirt] images_type = rbd``), the
snapshot is a copy-on-write clone into that store's pool instead of a
stream through glance-api.
"""),
    cfg.StrOpt(
        'ceph_native_snapshot',
        default='flatten',
        choices=[
            ('flatten', 'Clone the instance disk into the store\'s pool and '
                        'flatten the clone (copy every byte inside Ceph) '
                        'before it is registered: an image independent of '
                        'the disk, as nova\'s own direct snapshot makes.'),
            ('copy-on-write', 'Register a format 2 clone of the disk that is '
                              'never flattened: no byte is copied and the '
                              'snapshot takes the same time whatever the '
                              'disk size. A deleted instance\'s disk stays '
                              'in Ceph\'s trash until the last image cloned '
                              'from it is deleted.'),
        ],
        help="""
How a ceph-native snapshot (target store an rbd store on the instance
disk's cluster, see ``rbd_store_locations``) is made.

``copy-on-write`` needs, as nova's cephx user sees them: clone format 2
(mimic or newer OSDs and librbd), ``deep-flatten`` in
``rbd_default_features`` and ``rbd_move_parent_to_trash_on_remove = true``
(without it nova's instance delete leaves the disk behind without a word).
They are checked at start-up and before each snapshot (cached like
``stores_cache_ttl``); a snapshot on a host that misses one is flattened,
with a WARNING that names it. Never flatten (``rbd flatten``) an image
made this way once it is registered: on Ceph 16.2 the instances booted from
it read zeros afterwards.

Related options:

* ``copy_on_write_max_chain_depth``
"""),
    cfg.IntOpt(
        'copy_on_write_max_chain_depth',
        default=4,
        min=1,
        help="""
The longest chain of images a copy-on-write snapshot may depend on: 1 for
the snapshot of a flat disk, 2 for an instance nova cloned from a flat
Glance image in the same cluster; each time an instance booted from a
copy-on-write snapshot is snapshotted again the chain grows by two (its disk
and the snapshot it was cloned from). A snapshot that would depend on more
is flattened before it is registered (nothing reads it yet, so that is
safe), so that reads do not pay for an ever longer chain. Measured on Ceph
16.2 (``bench/ceph_native_vs_stream.py``, 1 GiB): a whole-image read at
depth 1, 2 and 4 costs 1.01x, 0.99x and 1.04x that of a flat image, so 4
allows one more generation of snapshots of a booted snapshot at no
measurable read cost.
"""),
    cfg.StrOpt(
        'pending_cleanups_file',
        default='$state_path/glance_multistore/pending-cleanups.json',
        sample_default='$state_path/glance_multistore/pending-cleanups.json',
        help="""
Where nova-compute remembers the cleanups an outage kept it from doing: a
queued image Glance could not delete, an rbd clone or snapshot Ceph could
not remove. They are retried before every snapshot, backup and shelve of
this host and when nova-compute starts, also after a restart. The file holds
ids and pool names only, never credentials.
"""),
    cfg.IntOpt(
        'pending_cleanups_time_budget',
        default=5,
        min=1,
        help="""
Seconds that retrying pending cleanups (see ``pending_cleanups_file``) may
add to a snapshot, backup or shelve of this host, and to nova-compute's
start. Once they are spent no further cleanup is started, and a Glance or
Ceph that hangs delays the snapshot by no more than this: the retry goes on
in the background and what it did not finish stays pending.
"""),
    cfg.IntOpt(
        'pending_cleanups_retry_interval',
        default=60,
        min=0,
        help="""
Seconds before a pending cleanup whose retry failed (Glance or Ceph still
unreachable) is tried again, so that during an outage the same leftovers are
not retried before every snapshot of this host. A restart of nova-compute
retries them all at once.
"""),
]


def register_opts(conf):
    """Register our options on ``conf``, reusing nova's ``[glance] store``.

    Upstream nova has no ``[glance] store`` today; if a future nova (or
    another plugin) defines it, registering ours would raise
    DuplicateOptError, so theirs is used instead.
    """
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP)
    conf.register_group(cfg.OptGroup(GLANCE_GROUP))
    if not _has_opt(conf, GLANCE_GROUP, store_opt.dest):
        conf.register_opt(store_opt, group=GLANCE_GROUP)


def _has_opt(conf, group, name):
    try:
        return name in conf[group]
    except cfg.NoSuchOptError:
        return False


def list_opts():
    """Options for oslo-config-generator, as deep copies."""
    return [
        (GLANCE_GROUP, copy.deepcopy(GLANCE_OPTS)),
        (_group(), copy.deepcopy(OPTS)),
    ]
