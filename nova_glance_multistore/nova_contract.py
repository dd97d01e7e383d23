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

"""The nova internals we override, wrap, subclass or call.

None of them is nova's stable API: nova may rename or reshape any of them
in any release, and our code would then break at run time, or worse, go on
without its store-aware step. This is the list a maintainer checks when
nova moves: ``tox -e py3`` against the new nova runs
``contract_check.check()`` (tests/unit/test_nova_contract.py), which
names each entry that moved. This module imports no nova.
"""

import dataclasses
import typing

CLASS = 'class'
EXCEPTION = 'exception'  # params: the msg_fmt keys we pass
FUNCTION = 'function'
METHOD = 'method'
CLASSMETHOD = 'classmethod'
ATTRIBUTE = 'attribute'  # presence only
CONSTANT = 'constant'  # presence only
INSTANCE_ATTRIBUTE = 'instance attribute'  # ``self.<name> =`` in its class
CALLABLE_KINDS = (FUNCTION, METHOD, CLASSMETHOD)
KINDS = (CLASS, EXCEPTION, ATTRIBUTE, CONSTANT,
         INSTANCE_ATTRIBUTE) + CALLABLE_KINDS


@dataclasses.dataclass(frozen=True)
class Internal:
    """One nova name we rely on, and how.

    ``params``: the parameter names we rely on (``*args``/``**kwargs``
    spelled so), None when only presence matters. ``source_has``: text
    nova's source of it must still contain, the calls that make nova reach
    our overrides.
    """

    path: str
    kind: str
    params: typing.Optional[tuple[str, ...]]
    used_by: str
    why: str
    source_has: tuple[str, ...] = ()


def _i(path: str, kind: str, params: typing.Optional[str], used_by: str,
       why: str, *source_has: str) -> Internal:
    """An Internal, its params given as one space-separated string."""
    return Internal(path, kind, None if params is None else
                    tuple(params.split()), used_by, why, source_has)


_P = 'nova_glance_multistore.'
DRIVER = _P + 'driver.LibvirtDriver'
MIXIN = _P + 'driver.StoreAwareSnapshotMixin'
SERVICE = _P + 'image_api.StoreAwareImageService'
IMAGE_API = _P + 'image_api.StoreAwareImageAPI'
FACTS = _P + 'glance_client.GlanceFacts'
DISK = _P + 'ceph_native.StoreAwareDisk'
INTO_POOL = _P + 'rbd_steps.snapshot_into_pool'
REMOVE_CLONE = _P + 'rbd_steps.remove_clone_now'
REMOVE_SNAP = REMOVE_CLONE + ', ' + _P + 'rbd_steps.remove_disk_snapshot_now'
RETRY = _P + 'cleanups.retry_pending_rbd_cleanups'
STORES_CHECK = _P + 'checks.fast_snapshot_targets'
RBD_DRIVERS = ', '.join((MIXIN + '._check_copy_on_write',
                         _P + 'checks.all_findings', _P + 'cli.cmd_pinned',
                         STORES_CHECK, RETRY))
CONNECT = _P + 'rbd_cow.connect'
CACHE = _P + 'rbd_cow.check_preconditions, ' + _P + 'rbd_cow.PreconditionCache'
PROBE = _P + 'checks._probe_pool'
THREADS = SERVICE + '._upload_data, ' + _P + 'rbd_cow.in_native_thread'
EVENTS = _P + 'instance_events.record_refusal'
FLAVOR = _P + 'store_policy.flavor_extra_specs'
TASK_STATES = ('IMAGE_SNAPSHOT', 'IMAGE_SNAPSHOT_PENDING', 'IMAGE_BACKUP',
               'SHELVING', 'SHELVING_IMAGE_PENDING_UPLOAD',
               'SHELVING_IMAGE_UPLOADING')
_DIRECT = 'self context snapshot_name image_format image_id base_image_id'
_OWN = "wrapped; nova's own when the upload has no target store"
_STREAMS = "nova's snapshot() streams the disk after it"

INTERNALS: tuple[Internal, ...] = (
    _i('nova.virt.driver.load_compute_driver', FUNCTION,
       'virtapi compute_driver', DRIVER, 'imports nova.virt.<compute_driver> '
       '(our shim nova/virt/glance_multistore), built with (virtapi)',
       "'nova.virt.%s'"),
    _i('nova.virt.libvirt.driver.CONF', ATTRIBUTE, None, _P + 'driver.CONF',
       'nova.conf.CONF, as the driver module holds it'),
    _i('nova.virt.libvirt.driver.LibvirtDriver', CLASS, None, DRIVER,
       'subclassed'),
    _i('nova.virt.libvirt.driver.LibvirtDriver.__init__', METHOD,
       'self virtapi read_only', DRIVER, 'overridden, super() called'),
    _i('nova.virt.libvirt.driver.LibvirtDriver.init_host', METHOD,
       'self host', DRIVER, 'overridden: start-up checks, pending cleanups'),
    _i('nova.virt.libvirt.driver.LibvirtDriver.snapshot', METHOD,
       'self context instance image_id update_task_state', MIXIN,
       'wrapped (store chosen first); nova reaches our wrappers from it and '
       'streams when direct_snapshot() raises one of these',
       'self.image_backend.by_libvirt_path(', '.direct_snapshot(',
       'self._image_api.update(', 'NotImplementedError',
       'exception.ImageUnacceptable', 'exception.Forbidden'),
    _i('nova.virt.libvirt.driver.LibvirtDriver.image_backend',
       INSTANCE_ATTRIBUTE, None, MIXIN, 'wrapped by StoreAwareImageBackend'),
    _i('nova.virt.libvirt.driver.LibvirtDriver._image_api',
       INSTANCE_ATTRIBUTE, None, MIXIN, 'replaced by StoreAwareImageAPI'),
    _i('nova.virt.libvirt.imagebackend.Backend.by_libvirt_path', METHOD,
       'self instance path image_type', _P + 'ceph_native.'
       'StoreAwareImageBackend', 'wrapped: the disk snapshot() snapshots'),
    _i('nova.virt.libvirt.imagebackend.Image.direct_snapshot', METHOD,
       _DIRECT, DISK, _OWN),
    _i('nova.virt.libvirt.imagebackend.Rbd', CLASS, None, DISK,
       'isinstance(): only rbd disks get a ceph-native snapshot'),
    _i('nova.virt.libvirt.imagebackend.Rbd.direct_snapshot', METHOD,
       _DIRECT, DISK, _OWN),
    _i('nova.virt.libvirt.imagebackend.Rbd.cleanup_direct_snapshot', METHOD,
       'self location also_destroy_volume ignore_errors', DISK,
       "via __getattr__: snapshot() removes our clone if Glance refuses it"),
    _i('nova.virt.libvirt.imagebackend.Rbd.driver', INSTANCE_ATTRIBUTE, None,
       DISK, "the disk's RBDDriver (fsid, pool, snapshots)"),
    _i('nova.virt.libvirt.imagebackend.Rbd.rbd_name', INSTANCE_ATTRIBUTE,
       None, DISK, 'the name of the disk snapshotted'),
    _i('nova.storage.rbd_utils.rbd', ATTRIBUTE, None, _P + 'rbd_cow._rbd, ' +
       _P + 'rbd_steps.is_gone', 'librbd as nova imported it, or None'),
    _i('nova.storage.rbd_utils.rados', ATTRIBUTE, None, _P + 'rbd_cow._rados',
       'librados as nova imported it, or None'),
    _i('nova.storage.rbd_utils.RBDDriver.__init__', METHOD,
       'self pool user ceph_conf connect_timeout', RBD_DRIVERS,
       'built with no arguments: the [libvirt] rbd options'),
    _i('nova.storage.rbd_utils.RBDDriver.create_snap', METHOD,
       'self volume name pool protect', INTO_POOL, 'the disk and image '
       'snapshots'),
    _i('nova.storage.rbd_utils.RBDDriver.clone', METHOD,
       'self image_location dest_name dest_pool', INTO_POOL,
       'flattened clones (copy-on-write ones are rbd_cow\'s own)'),
    _i('nova.storage.rbd_utils.RBDDriver.flatten', METHOD, 'self volume pool',
       INTO_POOL, 'flattened clones, and clones of too long a chain'),
    _i('nova.storage.rbd_utils.RBDDriver.remove_snap', METHOD,
       'self volume name ignore_errors pool force', REMOVE_SNAP, 'cleanups'),
    _i('nova.storage.rbd_utils.RBDDriver.destroy_volume', METHOD,
       'self volume pool', REMOVE_CLONE, 'cleanups'),
    _i('nova.storage.rbd_utils.RBDDriver.get_fsid', METHOD, 'self',
       DISK + '.direct_snapshot, ' + _P + 'cli.cmd_pinned, ' + STORES_CHECK +
       ', ' + RETRY, "the instance disks' cluster"),
    _i('nova.storage.rbd_utils.RBDDriver.ceph_args', METHOD, 'self',
       _P + 'trash_pins.trashed_disks', "the rbd command's --id and --conf"),
    _i('nova.storage.rbd_utils.RBDDriver.pool', INSTANCE_ATTRIBUTE, None,
       DISK + '.direct_snapshot, ' + _P + 'trash_pins.pins, ' + _P +
       'cli.cmd_pinned, ' + STORES_CHECK, "the instance disks' pool"),
    _i('nova.storage.rbd_utils.RBDDriver.rbd_user', INSTANCE_ATTRIBUTE, None,
       CONNECT + ', ' + CACHE, 'our Ceph connections use nova\'s cephx user'),
    _i('nova.storage.rbd_utils.RBDDriver.ceph_conf', INSTANCE_ATTRIBUTE,
       None, CONNECT + ', ' + CACHE, 'and nova\'s ceph.conf'),
    _i('nova.storage.rbd_utils.RBDDriver.rbd_connect_timeout',
       INSTANCE_ATTRIBUTE, None, CONNECT, 'and nova\'s connect timeout'),
    _i('nova.storage.rbd_utils.RADOSClient.__init__', METHOD,
       'self driver pool', PROBE, 'the pool access check'),
    _i('nova.storage.rbd_utils.RADOSClient.ioctx', INSTANCE_ATTRIBUTE, None,
       PROBE, 'the pool access check'),
    _i('nova.storage.rbd_utils.RbdProxy.__init__', METHOD, 'self', PROBE,
       'the pool access check'),
    _i('nova.image.glance.CONF', ATTRIBUTE, None, _P + 'image_api.CONF',
       '[glance] num_retries of our upload retries'),
    _i('nova.image.glance.GlanceClientWrapper.__init__', METHOD,
       'self context endpoint', FACTS, 'built with no arguments: nova\'s '
       '[glance] endpoint, TLS and token settings'),
    _i('nova.image.glance.GlanceClientWrapper.call', METHOD,
       'self context version method controller args kwargs',
       FACTS + '._call, ' + SERVICE + '._upload_data',
       'every Glance call but the upload PUT; '
       'image_api.RETRY_ERRORS copies what it retries',
       'glanceclient.exc.HTTPServiceUnavailable',
       'glanceclient.exc.InvalidEndpoint',
       'glanceclient.exc.CommunicationError', 'IOError'),
    _i('nova.image.glance.GlanceClientWrapper._create_onetime_client',
       METHOD, 'self context version', SERVICE + '._put_with_retries',
       'the client of each upload attempt'),
    _i('nova.image.glance.GlanceClientWrapper.client', INSTANCE_ATTRIBUTE,
       None, SERVICE + '._put_with_retries', 'the static client, if any'),
    _i('nova.image.glance.GlanceClientWrapper.api_server', INSTANCE_ATTRIBUTE,
       None, SERVICE + '._put_with_retries', 'named in upload errors'),
    _i('nova.image.glance.GlanceImageServiceV2', CLASS, None, SERVICE,
       'subclassed'),
    _i('nova.image.glance.GlanceImageServiceV2.__init__', METHOD,
       'self client', SERVICE, 'super().__init__(client=client)'),
    _i('nova.image.glance.GlanceImageServiceV2._client', INSTANCE_ATTRIBUTE,
       None, SERVICE + ', ' + IMAGE_API, "the session's GlanceClientWrapper"),
    _i('nova.image.glance.GlanceImageServiceV2._upload_data', METHOD,
       'self context image_id data', SERVICE,
       'overridden: the PUT with the store headers'),
    _i('nova.image.glance.GlanceImageServiceV2._add_location', METHOD,
       'self context image_id location', SERVICE,
       "overridden: Glance's 403 becomes Forbidden, and the disk streams"),
    _i('nova.image.glance.GlanceImageServiceV2._update_v2', METHOD,
       'self context sent_service_image_meta data', SERVICE,
       'where nova calls our two overrides',
       'self._add_location(', 'self._upload_data('),
    _i('nova.image.glance.API', CLASS, None, IMAGE_API,
       'subclassed (its __init__ is not called: it has none)'),
    _i('nova.image.glance.API._get_session_and_image_id', METHOD,
       'self context id_or_uri', IMAGE_API, 'overridden: a store-aware '
       'session'),
    _i('nova.image.glance.API._get_session', METHOD, 'self _context',
       IMAGE_API, 'overridden: a store-aware session'),
    _i('nova.image.glance.API.update', METHOD,
       'self context id_or_uri image_info data purge_props', IMAGE_API,
       "snapshot()'s upload: reaches our session",
       'self._get_session_and_image_id('),
    _i('nova.utils.concurrency_mode_threading', FUNCTION, '', THREADS,
       'native threads or eventlet'),
    _i('nova.utils.get_eventlet', FUNCTION, '', THREADS,
       "eventlet's tpool, under eventlet"),
    _i('nova.context.get_admin_context', FUNCTION, 'read_deleted',
       _P + 'glance_client.service_context', 'the service context'),
    _i('nova.context.RequestContext.service_catalog', INSTANCE_ATTRIBUTE,
       None, _P + 'glance_client.service_context',
       "set afterwards: nova's Glance client finds its endpoint there"),
    _i('nova.monkey_patch.patch', FUNCTION, 'backend',
       _P + 'cli.use_native_threading', 'the CLI runs nova threaded; the '
       'environment variable it sets first', 'OS_NOVA_DISABLE_EVENTLET_'
       'PATCHING'),
    _i('nova.conf.CONF', ATTRIBUTE, None, _P + 'cli._load_conf',
       'the CLI reads nova.conf'),
) + tuple(
    _i('nova.compute.task_states.' + name, CONSTANT, None,
       _P + 'hooks.base.upload_kind', 'a snapshot, backup or shelve')
    for name in TASK_STATES
) + tuple(
    _i(path, ATTRIBUTE, None, used_by, 'a field we read, mostly with '
       'getattr() and a default: renamed, it would read as unset')
    for path, used_by in (
        ('nova.objects.instance.Instance.uuid',
         _P + 'cleanups.PendingCleanupRetries.image_left_behind, ' +
         EVENTS),
        ('nova.objects.instance.Instance.host', EVENTS),
        ('nova.objects.instance.Instance.task_state',
         _P + 'hooks.base.upload_kind'),
        ('nova.objects.instance.Instance.image_ref',
         _P + 'target.base_image_ref_of'),
        ('nova.objects.instance.Instance.metadata',
         _P + 'store_policy.server_metadata'),
        ('nova.objects.instance.Instance.flavor', FLAVOR + ', ' +
         _P + 'store_policy.flavor_name'),
        ('nova.objects.flavor.Flavor.extra_specs', FLAVOR),
        ('nova.objects.flavor.Flavor.name', _P + 'store_policy.flavor_name'))
) + (
    _i('nova.objects.instance_action.InstanceActionEvent.event_start',
       CLASSMETHOD, 'cls context instance_uuid event_name want_result host',
       EVENTS, 'called as nova.objects.InstanceActionEvent'),
    _i('nova.objects.instance_action.InstanceActionEvent.'
       'event_finish_with_failure', CLASSMETHOD, 'cls context instance_uuid '
       'event_name exc_val exc_tb want_result', EVENTS,
       'called as nova.objects.InstanceActionEvent'),
    _i('nova.exception.NovaException', EXCEPTION, None,
       _P + 'exception.GlanceMultistoreError', 'the base of our errors'),
    _i('nova.exception.NovaException.__init__', METHOD,
       'self message **kwargs', _P + 'exception.GlanceMultistoreError',
       'fills our msg_fmt templates from keyword arguments', 'self.msg_fmt'),
    _i('nova.exception.NovaException.msg_fmt', ATTRIBUTE, None,
       _P + 'exception.GlanceMultistoreError', 'each error sets its own'),
    _i('nova.exception.NovaException.format_message', METHOD, 'self',
       _P + 'uploads.StoreAwareUploads._fall_back', 'the fallback reason'),
    _i('nova.exception.Invalid', EXCEPTION, None,
       _P + 'exception.StoreRefused', 'a refused store is Invalid'),
    _i('nova.exception.Forbidden', EXCEPTION, None, SERVICE +
       '._add_location, ' + _P + 'rbd_cow._clone, ' + INTO_POOL, _STREAMS),
    _i('nova.exception.ImageUnacceptable', EXCEPTION, 'image_id reason',
       DISK + '.direct_snapshot', _STREAMS),
    _i('nova.exception.GlanceConnectionFailed', EXCEPTION, 'server reason',
       SERVICE + '._put_with_retries', "as nova's GlanceClientWrapper.call"),
)
