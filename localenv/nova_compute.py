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

"""nova's real compute code, configured for the local environment.

Loads a compute driver exactly as nova-compute does
(``nova.virt.driver.load_compute_driver`` with ``compute_driver``), builds
real ``nova.objects.Instance`` objects for guests defined in the local
libvirtd, and creates the queued image with the same nova code nova-api
uses (``nova.compute.utils.create_image``).

``NovaCompute.start`` called again stands for a restart of nova-compute:
the previous driver is closed first (its libvirt connection and its
connection-event thread), as the end of the old process would, and the
native libvirt event-loop thread of the first start is shared, since
nova's never ends and every such thread serves every connection.
"""

import os
import random
import sys

from localenv import common

# The instance task state nova-api sets before each kind of upload.
TASK_STATES = {'snapshot': 'image_snapshot', 'backup': 'image_backup',
               'shelve': 'shelving'}

_STATE = {}


class NovaCompute:
    """nova's CONF, objects and driver for one compute host."""

    def __init__(self, workdir, glance_url, libvirt_uri, virt_type='qemu',
                 compute_driver='glance_multistore.LibvirtDriver',
                 overrides=None):
        self.workdir = workdir
        self.glance_url = glance_url
        self.libvirt_uri = libvirt_uri
        self.virt_type = virt_type
        self.compute_driver = compute_driver
        self.overrides = dict(overrides or {})
        self.driver = None
        # Guest names derive from the id (instance-%08x): start at a random
        # point so a run never meets a domain another run left defined.
        self._next_id = random.randint(1, 0xfffff) << 8

    @property
    def instances_path(self):
        return os.path.join(self.workdir, 'instances')

    def configure(self):
        import nova.conf
        from nova import objects
        from oslo_log import log as logging

        import nova.privsep

        conf = nova.conf.CONF
        os.makedirs(self.workdir, exist_ok=True)
        if not _STATE.get('parsed'):
            logging.register_options(conf)
            conf.set_default('log_file', os.path.join(self.workdir,
                                                      'nova-compute.log'))
            logging.set_defaults(default_log_levels=(
                logging.get_default_log_levels() +
                ['nova.virt.libvirt.host=WARN']))
            conf([], project='nova', default_config_files=[])
            objects.register_all()
            logging.setup(conf, 'nova')
            _STATE['parsed'] = True
        os.makedirs(self.instances_path, exist_ok=True)
        settings = {
            ('DEFAULT', 'compute_driver'): self.compute_driver,
            ('DEFAULT', 'instances_path'): self.instances_path,
            ('DEFAULT', 'state_path'): self.workdir,
            ('DEFAULT', 'my_ip'): '127.0.0.1',
            ('DEFAULT', 'host'): 'localenv-compute',
            ('DEFAULT', 'log_file'): os.path.join(self.workdir,
                                                  'nova-compute.log'),
            ('oslo_concurrency', 'lock_path'): os.path.join(self.workdir,
                                                            'locks'),
            ('libvirt', 'virt_type'): self.virt_type,
            ('libvirt', 'connection_uri'): self.libvirt_uri,
            ('libvirt', 'cpu_mode'): 'none',
            ('libvirt', 'snapshots_directory'): os.path.join(
                self.workdir, 'snapshots'),
            ('glance', 'api_servers'): [self.glance_url],
            ('glance', 'num_retries'): 0,
            ('glance_multistore', 'stores_cache_ttl'): 0,
        }
        settings.update(self.overrides)
        from nova_glance_multistore import opts
        opts.register_opts(conf)
        for (group, name), value in settings.items():
            conf.set_override(name, value,
                              group=None if group == 'DEFAULT' else group)
        # We run as root: privileged helpers run in-process instead of
        # through sudo + privsep-helper, as nova's own functional tests do.
        for pctxt in (nova.privsep.sys_admin_pctxt,):
            pctxt.set_client_mode(False)
        return conf

    def set(self, group, name, value):
        import nova.conf
        nova.conf.CONF.set_override(name, value, group=group)

    def clear(self, group, name):
        """Back to the option's default (set(..., None) would mean None)."""
        import nova.conf
        nova.conf.CONF.clear_override(name, group=group)

    def start(self):
        """A new driver, as a restarted nova-compute makes; the old closed."""
        from nova.virt import driver as virt_driver
        from nova.virt import virtapi

        self.stop()
        self.configure()
        self.driver = virt_driver.load_compute_driver(virtapi.VirtAPI())
        _share_event_loop_thread(self.driver)
        self.driver.init_host('localenv-compute')
        return self.driver

    def stop(self):
        """Close the driver: what the end of nova-compute's process does."""
        if self.driver is None:
            return
        try:
            self.driver.cleanup_host('localenv-compute')
        except Exception as e:  # teardown must go on
            common.log('driver cleanup_host: %s' % e)
        _stop_connection_event_thread(self.driver)
        _close_connection(self.driver)
        self.driver = None

    # -- instances ---------------------------------------------------

    def context(self, project_id='p' * 32, user_id='u' * 32):
        from nova import context as nova_context
        return nova_context.RequestContext(
            user_id=user_id, project_id=project_id, auth_token='localenv',
            roles=['member', 'reader'])

    def make_instance(self, image_ref=None, task_state='image_snapshot',
                      vm_state='active'):
        from nova.network import model as network_model
        from nova import objects

        instance_id = self._next_id
        self._next_id += 1
        system_metadata = {'image_disk_format': 'qcow2',
                           'image_container_format': 'bare',
                           'image_min_disk': '0', 'image_min_ram': '0'}
        if image_ref:
            system_metadata['image_base_image_ref'] = image_ref
        instance = objects.Instance(
            id=instance_id, uuid=common_uuid(), project_id='p' * 32,
            user_id='u' * 32, image_ref=image_ref or '', kernel_id='',
            ramdisk_id='', os_type=None, host='localenv-compute',
            node='localenv-compute', vm_state=vm_state,
            task_state=task_state, system_metadata=system_metadata,
            root_device_name='/dev/vda', memory_mb=64, vcpus=1,
            root_gb=1, ephemeral_gb=0, flavor=_flavor(),
            old_flavor=None, new_flavor=None,
            pci_devices=objects.PciDeviceList(objects=[]),
            pci_requests=objects.InstancePCIRequests(requests=[]),
            numa_topology=None, metadata={}, vcpu_model=None,
            info_cache=objects.InstanceInfoCache(
                network_info=network_model.NetworkInfo()),
            resources=None, migration_context=None, trusted_certs=None,
            device_metadata=None)
        instance.obj_reset_changes()
        return instance

    def create_queued_image(self, context, instance, kind='snapshot',
                            name=None):
        """The image nova-api creates before asking compute to fill it."""
        from nova.compute import utils as compute_utils
        from nova.image import glance

        name = name or '%s-of-%s' % (kind, instance.uuid[:8])
        if kind == 'shelve':
            name += '-shelved'
        image_type = 'backup' if kind == 'backup' else 'snapshot'
        image = compute_utils.create_image(
            context, instance, name, image_type, glance.API())
        return image['id']

    def snapshot(self, context, instance, image_id, on_task_state=None):
        """Run the driver's snapshot() as nova-compute does.

        ``on_task_state(state)`` runs at each task state nova reports: the
        place where a test injects a fault.
        """
        states = []

        def update_task_state(task_state, expected_state=None):
            states.append(task_state)
            if on_task_state is not None:
                on_task_state(task_state)

        self.driver.snapshot(context, instance, image_id, update_task_state)
        return states


def _stop_connection_event_thread(driver):
    """End the libvirt Host's connection-event loop.

    nova-compute never stops it (the process just exits); a test process
    would wait for it forever at exit. SystemExit is not caught by the
    loop's ``except Exception``, so it ends the thread.
    """
    def _exit():
        raise SystemExit()

    if _green():
        # A green thread keeps no process alive, and SystemExit raised in
        # one ends the whole process (eventlet re-raises it in the main
        # greenlet): leave it be.
        return
    queue = getattr(driver._host, '_conn_event_handler_queue', None)
    if queue is not None:
        queue.put(_exit)


def _green():
    """True when nova runs under eventlet (its threads are green)."""
    patcher = sys.modules.get('eventlet.patcher')
    return bool(patcher and patcher.is_monkey_patched('thread'))


def _share_event_loop_thread(driver):
    """Run libvirt's event loop in the first start's thread only.

    nova's threading-mode handler registers libvirt's process-wide default
    event loop and runs it in a native thread that never returns; any
    thread running that loop dispatches the events of every connection.
    A restart in this process therefore reuses the first thread instead
    of adding one that nothing can stop.
    """
    from nova.virt.libvirt import host as libvirt_host

    handler = getattr(driver, '_host', None)
    handler = getattr(handler, '_event_handler', None)
    if not isinstance(handler, getattr(
            libvirt_host, '_ThreadingLibvirtEventHandler', ())):
        return
    running = _STATE.get('event_loop_thread')
    if running is not None and running.is_alive():
        handler._event_thread = running
        handler.start = lambda: None
        return
    start = handler.start

    def start_and_remember():
        start()
        _STATE['event_loop_thread'] = handler._event_thread

    handler.start = start_and_remember


def _close_connection(driver):
    """Close the driver's libvirt connection (libvirtd drops the client)."""
    host = getattr(driver, '_host', None)
    if host is None:
        return
    with host._wrapped_conn_lock:
        conn, host._wrapped_conn = host._wrapped_conn, None
    if conn is None:
        return
    # Event and close callbacks hold references to the connection: while
    # one is registered, close() leaves it open.
    for callback_id in list(getattr(conn, 'domainEventCallbackID', {})):
        try:
            conn.domainEventDeregisterAny(callback_id)
        except Exception as e:
            common.log('deregistering libvirt event callback: %s' % e)
    try:
        conn.unregisterCloseCallback()
    except Exception as e:
        common.log('unregistering the libvirt close callback: %s' % e)
    try:
        conn.close()
    except Exception as e:
        common.log('closing the libvirt connection: %s' % e)


def common_uuid():
    import uuid
    return str(uuid.uuid4())


def _flavor():
    from nova import objects
    return objects.Flavor(
        id=1, flavorid='1', name='tiny', memory_mb=64, vcpus=1, root_gb=1,
        ephemeral_gb=0, swap=0, extra_specs={}, rxtx_factor=1.0,
        is_public=True, disabled=False, vcpu_weight=None, description=None)
