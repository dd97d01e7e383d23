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

"""nova for ``localenv.cloud``: nova.conf, the control plane, compute.

nova.conf (the plugin's post-config adds its part), nova-api, -conductor
and -scheduler, then libvirtd and nova-compute on a nova-cpu.conf: its
start, restart, and the checks that it came up and registered.
"""

import configparser
import dataclasses
import json
import os
import re
import shutil
import subprocess
import time

from localenv import ceph as ceph_env
from localenv import cloud_ini
from localenv import cloud_supervision
from localenv import common
from localenv import libvirt as libvirt_env

HOST = 'ngm-aio'


@dataclasses.dataclass(frozen=True)
class ComputeHost:
    """One nova-compute host of the cloud: its name and where its files go.

    ``suffix`` tells its files and processes from the controller host's
    (empty); ``hostname``: the name its libvirtd reports (None: this
    machine's), nova's hypervisor host name and placement's provider name.
    """

    host: str
    suffix: str = ''
    hostname: str = None


CONTROLLER = ComputeHost(HOST)
# oslo.log's "<date> <time> <pid> LEVEL logger": what a service that failed
# to start but kept running writes.
FATAL_LOG_LINE = re.compile(r'^\S+ \S+ \d+ (CRITICAL \S+|ERROR nova) ')


class NovaMixin:
    """The steps "nova control plane" and "libvirtd and nova-compute"."""

    @property
    def nova_conf(self):
        return self.nova_conf_of(CONTROLLER)

    @property
    def nova_cpu_conf(self):
        return self.nova_cpu_conf_of(CONTROLLER)

    def nova_conf_of(self, compute):
        """A host's nova.conf, in a directory of its own.

        nova keeps the compute node's identity file, compute_id, beside it.
        """
        return self.path('etc', 'nova' + compute.suffix, 'nova.conf')

    def nova_cpu_conf_of(self, compute):
        return self.path('etc', 'nova' + compute.suffix, 'nova-cpu.conf')

    def compute_log(self, compute=CONTROLLER):
        return self.path('logs', 'nova-compute%s.log' % compute.suffix)

    def _write_nova_conf(self, compute=CONTROLLER):
        """nova's base configuration; post-config adds the plugin's part."""
        helper = '%s --config-file %s' % (self.bin('privsep-helper'),
                                          self.nova_cpu_conf_of(compute))
        os.makedirs(os.path.dirname(self.nova_conf_of(compute)),
                    exist_ok=True)
        for sub in ('data/nova', 'instances', 'locks'):
            os.makedirs(self.path(sub + compute.suffix), exist_ok=True)
        defaults = {
            'host': compute.host, 'my_ip': '127.0.0.1', 'debug': 'true',
            'transport_url': self.mq.transport_url,
            'state_path': self.path('data', 'nova' + compute.suffix),
            'instances_path': self.path('instances' + compute.suffix),
            'compute_driver': 'libvirt.LibvirtDriver',
            'vif_plugging_is_fatal': 'false',
            'vif_plugging_timeout': '0',
            # Guests without an OS never shut down on ACPI.
            'shutdown_timeout': '3',
            'osapi_compute_workers': '1', 'metadata_workers': '1',
            'heal_instance_info_cache_interval': '-1',
        }
        if compute == CONTROLLER and self.default_zone():
            # nova-api's zone for a server that names none.
            defaults['default_schedule_zone'] = self.default_zone()
        cloud_ini.write_ini(self.nova_conf_of(compute), dict({
            'DEFAULT': defaults,
            'api': {'auth_strategy': 'keystone'},
            'api_database': {'connection': self.db.url('nova_api')},
            'database': {'connection': self.db.url('nova')},
            'keystone_authtoken': self._authtoken('nova'),
            'placement': self._client_auth(),
            'neutron': self._client_auth(),
            'glance': {'region_name': 'RegionOne'},
            'service_user': dict(self._client_auth(),
                                 send_service_user_token='true'),
            'conductor': {'workers': '1'},
            'scheduler': {'workers': '1',
                          'discover_hosts_in_cells_interval': '-1'},
            'libvirt': {'virt_type': libvirt_env.virt_type(),
                        'cpu_mode': 'none'},
            'vnc': {'enabled': 'false'},
            'wsgi': {'api_paste_config': self.path(
                'etc', 'nova', 'api-paste.ini')},
            'oslo_concurrency': {'lock_path': self.path(
                'locks' + compute.suffix)},
            'oslo_messaging_notifications': {'driver': 'noop'},
            # Running as root: privsep's helper needs no sudo (and sudo's
            # secure_path would not find the venv's privsep-helper).
            'nova_sys_admin': {'helper_command': helper},
            'privsep_osbrick': {'helper_command': helper},
            'vif_plug_ovs_privileged': {'helper_command': helper},
        }, **self.cinder_nova_conf()))

    def _nova_control(self):
        shutil.copy(os.path.join(self.venv, 'etc', 'nova', 'api-paste.ini'),
                    self.path('etc', 'nova'))
        self.migrated('nova')
        for name in ('nova-conductor', 'nova-scheduler'):
            self.spawn(name, [self.bin(name), '--config-file',
                              self.nova_conf])
        # nova reads api-paste.ini and nova.conf from this directory.
        url = self.serve_uwsgi(
            'nova-api', 'nova.wsgi.osapi_compute:application',
            {'OS_NOVA_CONFIG_DIR': self.path('etc', 'nova')}, '/v2.1')
        self.state['urls']['compute'] = url
        self.save_state()
        self.keystone.endpoint('compute', 'nova', url)

    def _nova_compute(self):
        self.start_libvirtd(CONTROLLER)
        self.define_cinder_secret(CONTROLLER)
        process = self.start_compute()
        self.discover_compute_host(process)

    def start_libvirtd(self, compute):
        """The host's own libvirtd, recorded; its URI in the state."""
        daemon = libvirt_env.Libvirtd(self.path('libvirt' + compute.suffix),
                                      hostname=compute.hostname)
        self.component('libvirtd' + compute.suffix, daemon)
        # For down: its guests go first, then what QEMU it left.
        self.state.setdefault('libvirtds', {})[compute.host] = {
            'process': 'libvirtd' + compute.suffix, 'uri': daemon.uri,
            'workdir': daemon.workdir}
        if compute == CONTROLLER:
            self.state['libvirt_uri'] = daemon.uri
        self.save_state()
        return daemon

    def start_compute(self, compute=CONTROLLER):
        """nova-compute on a nova-cpu.conf copied from nova.conf.

        As devstack's start_nova_compute does; only nova-compute gets the
        private libvirtd's URI.
        """
        parser = configparser.RawConfigParser(strict=False)
        parser.optionxform = str
        parser.read(self.nova_conf_of(compute))
        if not parser.has_section('libvirt'):
            parser.add_section('libvirt')
        parser.set('libvirt', 'connection_uri',
                   self.state['libvirtds'][compute.host]['uri'])
        # nova-compute must not reach the databases (devstack removes them
        # from nova-cpu.conf too).
        for section in ('database', 'api_database'):
            parser.remove_section(section)
        with open(self.nova_cpu_conf_of(compute), 'w') as handle:
            parser.write(handle)
        # A fresh log per start: the start-up check reads it from the top.
        logfile = self.compute_log(compute)
        if os.path.exists(logfile):
            os.replace(logfile, logfile + '.previous')
        env = None
        if self.state.get('ceph_conf'):
            # nova's rbd image backend needs Debian's rados/rbd bindings
            # (devstack-plugin-ceph installs python3-rados/-rbd).
            env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
        return self.spawn('nova-compute' + compute.suffix, [
            self.bin('nova-compute'), '--config-file',
            self.nova_cpu_conf_of(compute)], env=env)

    def restart_compute(self, compute=CONTROLLER):
        """nova-compute again, on a nova-cpu.conf copied from nova.conf."""
        name = 'nova-compute' + compute.suffix
        cloud_supervision.stop_pids([p for p in self.state['processes']
                                     if p['name'] == name])
        self.forget(name)
        process = self.start_compute(compute)
        self.wait_compute_up(process, compute)
        self.check_command_lines()

    def _compute_service_up(self, host):
        out = subprocess.run(
            [self.bin('openstack'), 'compute', 'service', 'list',
             '--service', 'nova-compute', '-f', 'json'],
            capture_output=True, text=True, env=self.openrc_env(),
            timeout=60)
        if out.returncode:
            return False
        return any(s['Host'] == host and s['State'] == 'up'
                   for s in json.loads(out.stdout))

    def wait_compute_up(self, process, compute=CONTROLLER, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_compute_alive(process, compute)
            if self._compute_service_up(compute.host):
                return
            time.sleep(2)
        raise RuntimeError('nova-compute %s not up in %d s: %s' % (
            compute.host, timeout, common.tail(self.compute_log(compute))))

    def _check_compute_alive(self, process, compute):
        """Raise when nova-compute died or failed to start.

        nova-compute keeps running after a failed init_host: its log says
        so with an ERROR from the top-level ``nova`` logger.
        """
        logfile = self.compute_log(compute)
        with open(logfile, errors='replace') as handle:
            failed = any(FATAL_LOG_LINE.match(line) for line in handle)
        if process.poll() is not None or failed:
            raise RuntimeError('nova-compute %s failed to start: %s' % (
                compute.host, common.tail(logfile)))

    def discover_compute_host(self, process, compute=CONTROLLER,
                              timeout=120):
        """Map the compute host into cell1 once it has registered."""
        manage = [self.bin('nova-manage'), '--config-file', self.nova_conf]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_compute_alive(process, compute)
            self.run(*manage, 'cell_v2', 'discover_hosts')
            if compute.host in self.run(*manage, 'cell_v2', 'list_hosts'):
                return
            time.sleep(2)
        raise RuntimeError('nova-compute %s did not register in %d s: %s' % (
            compute.host, timeout, common.tail(self.compute_log(compute))))
