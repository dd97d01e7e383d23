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

"""A real all-in-one OpenStack cloud on 127.0.0.1, with our driver loaded.

keystone, placement, Glance (multi-store), neutron (API only), nova-api,
-conductor, -scheduler and -compute on a private libvirtd (KVM when
/dev/kvm is usable, else QEMU), MariaDB and RabbitMQ on private data
directories and loopback ports. Everything comes from PyPI (one venv) and
Debian packages (tools/install-deps.sh); nothing from devstack except our
own plugin: Glance's stores, nova's driver options and our tempest options
are written by ``devstack/plugin.sh`` itself (see ``localenv.devstack``).

    python -m localenv.cloud up       # a fresh cloud; prints progress
    python -m localenv.cloud status
    python -m localenv.cloud down     # stops what ``up`` started

``up`` records every process it starts in ``state.json`` as it goes (PID,
start time, command line: ``localenv.processes``), one-shot commands such as
the schema migrations included, so ``down`` (or a failed ``up``) stops
exactly those, and never a process that merely got a recorded PID later.

Its parts, one module a room: ``localenv.cloud_supervision`` (state.json,
starting processes, stopping only what was recorded), one module per
service it configures (``cloud_databases``: MariaDB, RabbitMQ and the
schema migrations; ``cloud_keystone``, ``cloud_placement``,
``cloud_glance``, ``cloud_neutron``, ``cloud_nova``), ``cloud_ceph`` (the
Ceph cluster and the devstack-plugin-ceph emulation), ``cloud_tempest``
(images, flavors, the tempest workspace and tempest.conf),
``cloud_secrets`` (no secret on a command line or in a log),
``cloud_sites`` (a second site: its Ceph cluster and compute host, and an
availability zone per site) and ``cloud_ini``. This module keeps the
ordered steps of ``up``, ``down`` and ``status``.
"""

import argparse
import os
import shutil
import sys
import threading
import time

from localenv import ceph as ceph_env
from localenv import cloud_ceph
from localenv import cloud_cinder
from localenv import cloud_databases
from localenv import cloud_glance
from localenv import cloud_keystone
from localenv import cloud_neutron
from localenv import cloud_nova
from localenv import cloud_placement
from localenv import cloud_secrets
from localenv import cloud_sites
from localenv import cloud_supervision
from localenv import cloud_tempest
from localenv import common
from localenv import devstack
from localenv import libvirt as libvirt_env
from localenv import processes

CLOUD_REQUIREMENTS = [
    'keystone==30.0.0', 'openstack-placement==16.0.0', 'glance==33.0.0',
    'glance_store[s3,swift,cinder]',
    'nova==34.0.0', 'neutron==29.0.0', 'tempest==47.0.0',
    'python-openstackclient', 'uWSGI', 'gunicorn', 'PyMySQL',
    'libvirt-python',
]
WORKDIR = os.path.join(common.CACHE, 'cloud')


def ensure_cloud_venv():
    return common.ensure_venv('cloud-venv', CLOUD_REQUIREMENTS)


class Cloud(cloud_supervision.SupervisionMixin,
            cloud_databases.DatabasesMixin,
            cloud_ceph.CephMixin,
            cloud_cinder.CinderMixin,
            cloud_keystone.KeystoneMixin,
            cloud_placement.PlacementMixin,
            cloud_glance.GlanceMixin,
            cloud_neutron.NeutronMixin,
            cloud_nova.NovaMixin,
            cloud_sites.SitesMixin,
            cloud_tempest.TempestMixin,
            cloud_secrets.SecretsMixin):
    """One all-in-one cloud in ``workdir``; ``state.json`` describes it."""

    def __init__(self, workdir=WORKDIR, plugin_overrides=None, ceph=None):
        """A cloud description; nothing runs until up().

        ``ceph``: rbd stores on a local Ceph cluster (default: when Ceph's
        Debian packages are installed).
        """
        self.workdir = workdir
        self.plugin_overrides = dict(plugin_overrides or {})
        self.ceph = (ceph_env.missing_reason() is None if ceph is None
                     else ceph)
        self.ceph_cluster = None
        self.cinder = None
        # {zone: CephCluster} of the sites after the first.
        self.site_clusters = {}
        self.state_file = os.path.join(workdir, 'state.json')
        self.state = None
        self.venv = None
        self.keystone = None
        # record/forget run from the migration threads too.
        self._state_lock = threading.RLock()

    # -- paths -----------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    def devstack_files(self, compute=None, **overrides):
        """The devstack variables for this cloud's files.

        With Ceph, the plugin sees devstack-plugin-ceph enabled and the
        variables that plugin would have set. ``compute``: another site's
        compute host, a devstack subnode (nova-compute only, its own
        nova.conf).
        """
        compute = compute or cloud_nova.CONTROLLER
        plugins = ('nova-glance-multistore',)
        # A store users may name in server metadata (StorePolicyTest): a
        # file store in either layout, neither default nor the boot store.
        variables = {'NGM_USER_SELECTABLE_STORES': 'archive'}
        if self.state and self.state.get('ceph_conf'):
            plugins = ('devstack-plugin-ceph',) + plugins
            variables.update(CEPH_CONF_FILE=self.state['ceph_conf'],
                             **cloud_ceph.DEVSTACK_PLUGIN_CEPH_GLANCE,
                             **cloud_ceph.DEVSTACK_PLUGIN_CEPH_NOVA)
            variables.update(self.site_variables())
            variables.update(self.object_store_variables())
            variables.update(self.cinder_variables())
        variables.update(self.plugin_overrides)
        variables.update(overrides)
        kwargs = {}
        if compute != cloud_nova.CONTROLLER:
            kwargs['services'] = cloud_sites.SUBNODE_SERVICES
        elif self.has_cinder():
            kwargs['services'] = (devstack.DevstackFiles.services +
                                  cloud_cinder.CINDER_SERVICES)
        return devstack.DevstackFiles(
            data_dir=self.path('data'),
            glance_api_conf=self.path('glance', 'etc', 'glance-api.conf'),
            nova_conf=self.nova_conf_of(compute),
            tempest_config=self.tempest_conf,
            python=self.bin('python') if self.venv else sys.executable,
            plugins=plugins, overrides=variables, **kwargs)

    # -- up ------------------------------------------------------------------

    def up(self):
        start = time.monotonic()
        self._fresh()
        steps = [
            ('Python environment', self._venv),
            ('MariaDB and RabbitMQ', self._databases),
            ('Ceph (rbd stores)', self._ceph),
            ('keystone', self._keystone),
            ('Ceph RGW (object stores)', self._rgw),
            ('Cinder (RBD backends)', self._cinder),
            ('placement', self._placement),
            ('Glance (devstack plugin post-config)', self._glance),
            ('neutron (API only)', self._neutron),
            ('nova control plane', self._nova_control),
            ('libvirtd and nova-compute', self._nova_compute),
            ('site 1: libvirtd and nova-compute on its cluster',
             self._second_site),
            ('availability zones (one per site)', self._zones),
            ('images and flavors', self._images_and_flavors),
            ('openrc and tempest workspace', self._tempest_workspace),
        ]
        try:
            for title, step in steps:
                began = time.monotonic()
                common.log('cloud: %s ...' % title)
                step()
                self.ensure_running()
                self.check_command_lines()
                seconds = time.monotonic() - began
                self.state.setdefault('step_seconds', []).append(
                    [title, round(seconds, 1)])
                common.log('cloud: %s done in %.1f s' % (title, seconds))
        except BaseException:
            common.log('cloud: up failed; stopping what it started')
            self.down()
            raise
        self.state['up_seconds'] = round(time.monotonic() - start, 1)
        self.save_state()
        common.log('cloud: up in %.0f s; source %s' % (
            self.state['up_seconds'], self.path('openrc')))
        return self

    def _fresh(self):
        if self.load_state() and self.running():
            common.log('cloud: a previous cloud still runs; stopping it')
            self.down()
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in ('logs', 'etc/nova', 'etc/placement', 'etc/neutron',
                    'data/nova', 'instances', 'locks'):
            os.makedirs(self.path(sub), exist_ok=True)
        self.state = {'workdir': self.workdir, 'processes': [],
                      'urls': {}, 'virt_type': libvirt_env.virt_type()}
        self.save_state()

    def _venv(self):
        self.venv = ensure_cloud_venv()
        self.state['venv'] = self.venv
        # A regular install (not editable): nova finds our driver only in
        # its own nova/virt/, where the wheel puts the shim.
        self.run(self.bin('pip'), 'install', '--quiet', '--no-deps',
                 '--force-reinstall', '--disable-pip-version-check',
                 common.REPO)
        self.plugin = devstack.settings(self.devstack_files())

    # -- down and status --------------------------------------------------

    def down(self):
        """Stop every recorded process (guests first); keep the files."""
        start = time.monotonic()
        if self.state is None and not self.load_state():
            common.log('cloud: nothing recorded in %s' % self.state_file)
            return 0
        names = {p['name'] for p in self.running()}
        daemons = self.state.get('libvirtds', {}).values()
        for daemon in daemons:
            if daemon['process'] in names:
                cloud_supervision.destroy_guests(daemon['uri'],
                                                 daemon['workdir'])
        cloud_supervision.stop_pids(self.state['processes'])
        # QEMU outlives its libvirtd: what is left, by its pid file.
        for daemon in daemons:
            libvirt_env.kill_guest_processes(daemon['workdir'])
        self.remove_cinder_keyring()
        left = self.running()
        if left:
            raise RuntimeError('still running after down: %s' % ', '.join(
                '%s (pid %d)' % (p['name'], p['pid']) for p in left))
        self.state['down_seconds'] = round(time.monotonic() - start, 1)
        self.save_state()
        common.log('cloud: down in %.1f s' % self.state['down_seconds'])
        return 0

    def status(self, out=sys.stdout):
        if not self.load_state():
            out.write('no cloud recorded in %s\n' % self.workdir)
            return 1
        alive = [p for p in self.state['processes']
                 if processes.alive(p)]
        for entry in self.state['processes']:
            out.write('%-16s %7d  %s\n' % (
                entry['name'], entry['pid'],
                'running' if entry in alive else 'stopped'))
        for name, url in sorted(self.state['urls'].items()):
            out.write('%-16s %s\n' % (name, url))
        return 0 if len(alive) == len(self.state['processes']) else 1


def _in_cloud_venv(argv):
    """Re-run under the cloud venv's Python when libvirt-python is missing.

    localenv.libvirt talks to libvirtd through libvirt-python, which the
    cloud venv has; ``python -m localenv.cloud`` then works from any
    Python 3.
    """
    try:
        import libvirt  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(ensure_cloud_venv(), 'bin', 'python')
    os.chdir(common.REPO)
    os.execv(python, [python, '-m', 'localenv.cloud'] + list(argv))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog='python -m localenv.cloud',
        description='An all-in-one OpenStack cloud on 127.0.0.1.')
    parser.add_argument('command', choices=['up', 'down', 'status'])
    parser.add_argument('--workdir', default=WORKDIR)
    parser.add_argument('--no-ceph', dest='ceph', action='store_false',
                        default=None, help='no rbd stores, even when Ceph '
                                           'is installed')
    args = parser.parse_args(argv)
    cloud = Cloud(args.workdir, ceph=args.ceph)
    if args.command == 'up':
        _in_cloud_venv(argv)
        cloud.up()
        return 0
    if args.command == 'down':
        return cloud.down()
    return cloud.status()


if __name__ == '__main__':
    sys.exit(main())
