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

"""A real Cinder 29 (its own venv from PyPI) on RBD backends of a CephCluster.

cinder-api, cinder-scheduler and cinder-volume with one RBD backend and one
volume type per entry of ``backends``, on MariaDB and RabbitMQ from
``localenv`` and behind a real Keystone (``volumev3`` and ``block-storage``
in its catalog). Loopback only, torn down by ``stop``.

Measured on this kind of machine (../shared/notes/cinder.md): the kernel
has no device-mapper, SCSI, LIO or NVMe-oF, so the LVM/iSCSI backends
cannot run here, and Glance's cinder stores reach RBD volumes through
librbd in user space (os-brick's RBD connector). Cinder does not hand out
the keyring: os-brick reads ``/etc/ceph/<cluster>.client.<user>.keyring``,
a global path, so each run uses a cluster name of its own
(``rbd_cluster_name``) and removes that file on ``stop``. The readiness
check waits for each backend's volume service *and* a smoke volume of each
type (a service can show "up" after its process died).
"""

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

from localenv import ceph as ceph_env
from localenv import cloud_ini
from localenv import common
from localenv import service

CINDER_REQUIREMENTS = ['cinder==29.0.0', 'python-cinderclient', 'PyMySQL']
# (backend, pool, volume type) of the two tiers Glance's cinder stores use.
DEFAULT_BACKENDS = (('ceph-fast', 'volumes-fast', 'glance-fast'),
                    ('ceph-slow', 'volumes-slow', 'glance-slow'))
USER = 'cinder'
HOST = 'ngm-cinder'
ETC_CEPH = '/etc/ceph'
GIB = 1024 ** 3


def ensure_cinder_venv():
    return common.ensure_venv('cinder-venv', CINDER_REQUIREMENTS)


def missing_reason():
    """Why Cinder cannot run here, or None (its parts are Ceph's)."""
    return ceph_env.missing_reason()


class CinderService(service.HttpService):
    """cinder-api, -scheduler and -volume; ``url`` once ``start`` returns."""

    api_path = '/v3'

    missing_reason = staticmethod(missing_reason)

    def __init__(self, workdir, cluster, keystone, database, mq,
                 backends=DEFAULT_BACKENDS, venv=None):
        self.workdir = workdir
        self.cluster = cluster
        self.keystone = keystone
        self.database = database
        self.mq = mq
        self.backends = tuple(backends)
        self.venv = venv
        self.port = common.free_port()
        # The name os-brick builds the keyring path from: this run's own.
        self.cluster_name = 'ngm%s' % uuid.uuid4().hex[:8]
        self.secret_uuid = str(uuid.uuid4())
        self.processes = []
        self._token = None
        self.etc_keyring = os.path.join(ETC_CEPH, '%s.client.%s.keyring' % (
            self.cluster_name, USER))
        self.conf = os.path.join(workdir, 'cinder.conf')
        self.logdir = os.path.join(workdir, 'logs')

    @property
    def volume_types(self):
        return [volume_type for _, _, volume_type in self.backends]

    def bin(self, name):
        return os.path.join(self.venv, 'bin', name)

    # -- start and stop -----------------------------------------------------

    def start(self, timeout=180):
        self.venv = self.venv or ensure_cinder_venv()
        os.makedirs(self.logdir, exist_ok=True)
        pools = [pool for _, pool, _ in self.backends]
        for pool in pools:
            self.cluster.create_pool(pool)
        keyring = self.cluster.create_user(USER, {
            'mon': 'profile rbd',
            'osd': ', '.join('profile rbd pool=%s' % p for p in pools)})
        os.makedirs(ETC_CEPH, exist_ok=True)
        shutil.copy(keyring, self.etc_keyring)
        os.chmod(self.etc_keyring, 0o600)
        self.keystone.user(USER, 'service', ['service', 'admin'])
        self.database.create_databases('cinder')
        self._write_conf()
        common.run([self.bin('cinder-manage'), '--config-file', self.conf,
                    'db', 'sync'], timeout=300)
        env = dict(os.environ, PYTHONPATH=ceph_env.bindings_dir())
        for name in ('cinder-api', 'cinder-scheduler', 'cinder-volume'):
            self._spawn(name, env)
        common.wait_for_http('http://127.0.0.1:%d/' % self.port, 60,
                             self.processes[0],
                             os.path.join(self.logdir, 'cinder-api.log'))
        for service_type in ('volumev3', 'block-storage'):
            self.keystone.endpoint(service_type, 'cinder',
                                   self.url + '/$(project_id)s')
        self._wait_ready(timeout)
        return self

    def _spawn(self, name, env):
        log = os.path.join(self.logdir, '%s.log' % name)
        with open(log + '.out', 'ab') as out:
            self.processes.append(common.popen(
                [self.bin(name), '--config-file', self.conf, '--log-file',
                 log], stdout=out, stderr=subprocess.STDOUT, env=env,
                start_new_session=True))

    def stop(self):
        for process in reversed(self.processes):
            common.stop_process(process, grace=10)
        self.processes = []
        if os.path.exists(self.etc_keyring):
            os.remove(self.etc_keyring)

    def _write_conf(self):
        sections = {
            'DEFAULT': {
                'host': HOST,
                'transport_url': self.mq.transport_url,
                'auth_strategy': 'keystone',
                'osapi_volume_listen': '127.0.0.1',
                'osapi_volume_listen_port': str(self.port),
                'osapi_volume_workers': '1',
                'enabled_backends': ','.join(b for b, _, _ in self.backends),
                'rootwrap_config': os.path.join(self.venv, 'etc', 'cinder',
                                                'rootwrap.conf'),
                'api_paste_config': os.path.join(self.venv, 'etc', 'cinder',
                                                 'api-paste.ini'),
                'resource_query_filters_file': os.path.join(
                    self.venv, 'etc', 'cinder', 'resource_filters.json'),
                'state_path': os.path.join(self.workdir, 'state'),
                'report_interval': '5',
                'service_down_time': '30',
                'debug': 'false',
                'use_stderr': 'false',
            },
            'database': {'connection': self.database.url('cinder')},
            'keystone_authtoken': self.keystone.authtoken_conf(USER),
            'oslo_concurrency': {'lock_path': os.path.join(self.workdir,
                                                           'locks')},
            'oslo_messaging_notifications': {'driver': 'noop'},
        }
        # Running as root: privsep's helper needs no sudo (and sudo's
        # secure_path would not find the venv's cinder-rootwrap); cinder
        # inspects downloaded images through it.
        helper = '%s --config-file %s' % (self.bin('privsep-helper'),
                                          self.conf)
        for section in ('cinder_sys_admin', 'privsep_osbrick'):
            sections[section] = {'helper_command': helper}
        for backend, pool, _ in self.backends:
            sections[backend] = {
                'volume_driver': 'cinder.volume.drivers.rbd.RBDDriver',
                'volume_backend_name': backend,
                'rbd_pool': pool,
                'rbd_ceph_conf': self.cluster.conf,
                'rbd_user': USER,
                'rbd_cluster_name': self.cluster_name,
                'rbd_secret_uuid': self.secret_uuid,
                'rados_connect_timeout': '20',
            }
        cloud_ini.write_ini(self.conf, sections)

    # -- readiness ------------------------------------------------------

    def _wait_ready(self, timeout):
        """Every backend's volume service up, then a smoke volume of each."""
        deadline = time.monotonic() + timeout
        wanted = {'%s@%s' % (HOST, b) for b, _, _ in self.backends}
        while True:
            self._check_alive()
            up = {s['host'] for s in self.api('GET', '/os-services')[
                'services'] if s['binary'] == 'cinder-volume' and
                s['state'] == 'up'}
            if wanted <= up:
                break
            if time.monotonic() > deadline:
                raise RuntimeError('cinder-volume backends not up in %d s '
                                   '(up: %s): %s' % (
                                       timeout, sorted(up), self._log_tail()))
            time.sleep(1)
        for backend, _, volume_type in self.backends:
            self.api('POST', '/types', {'volume_type': {
                'name': volume_type, 'extra_specs': {
                    'volume_backend_name': backend}}})
        for volume_type in self.volume_types:
            volume = self.create_volume(1, volume_type,
                                        name='smoke-%s' % volume_type)
            self.wait_volume(volume['id'], 'available',
                             deadline - time.monotonic())
            self.delete_volume(volume['id'])

    def _check_alive(self):
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError('%s exited (%s): %s' % (
                    process.args[0], process.returncode, self._log_tail()))

    def _log_tail(self):
        return ' | '.join('%s: %s' % (name, common.tail(os.path.join(
            self.logdir, name + '.log'), 5)) for name in (
                'cinder-api', 'cinder-scheduler', 'cinder-volume'))

    # -- the API, as Cinder's own service user -------------------------------

    def _project_url(self):
        """Cinder's user's token (kept: a token costs 0.3 s) and URL."""
        if self._token is None or time.monotonic() > self._token[2]:
            token, body = self.keystone.token(USER, 'service')
            self._token = (token, '%s/%s' % (
                self.url, body['token']['project']['id']),
                time.monotonic() + 1800)
        return self._token[:2]

    def api(self, method, path, body=None, timeout=60):
        token, base = self._project_url()
        req = urllib.request.Request(
            base + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={'Content-Type': 'application/json',
                     'X-Auth-Token': token,
                     'OpenStack-API-Version': 'volume 3.60'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raise RuntimeError('cinder %s %s: %s %s' % (
                method, path, e.code, e.read()[:500])) from e

    def create_volume(self, size_gib, volume_type, name=None):
        return self.api('POST', '/volumes', {'volume': {
            'size': size_gib, 'volume_type': volume_type,
            'name': name}})['volume']

    def volume(self, volume_id):
        """The volume's record, or None when Cinder has no such volume."""
        try:
            return self.api('GET', '/volumes/%s' % volume_id)['volume']
        except RuntimeError as e:
            if ' 404 ' in str(e):
                return None
            raise

    def volumes(self):
        """Every volume of every project, with details."""
        return self.api('GET', '/volumes/detail?all_tenants=1')['volumes']

    def wait_volume(self, volume_id, status, timeout=120):
        deadline = time.monotonic() + max(timeout, 1)
        while True:
            volume = self.volume(volume_id)
            if volume and volume['status'] == status:
                return volume
            if volume and volume['status'] == 'error':
                raise RuntimeError('volume %s went to error' % volume_id)
            if time.monotonic() > deadline:
                raise RuntimeError('volume %s not %s in %d s: %s' % (
                    volume_id, status, timeout, volume))
            time.sleep(1)

    def delete_volume(self, volume_id, timeout=120):
        self.api('DELETE', '/volumes/%s' % volume_id)
        self.wait_volume_gone(volume_id, timeout)

    def wait_volume_gone(self, volume_id, timeout=120):
        """Return once Cinder no longer knows the volume."""
        deadline = time.monotonic() + timeout
        while self.volume(volume_id) is not None:
            if time.monotonic() > deadline:
                raise RuntimeError('volume %s not deleted in %d s' % (
                    volume_id, timeout))
            time.sleep(1)


def cinder_store(cinder, store_id, volume_type, workdir):
    """A Glance ``cinder`` store on ``volume_type``, as user glance.

    glance-api also needs ``privsep_extra_conf(glance_venv, conf_path)``:
    os-brick's privileged helper started without sudo (Glance runs as root
    here; sudo's secure_path would not find the venv's helpers).
    """
    from localenv import glance

    keystone = cinder.keystone
    keystone.user('glance', 'service', ['service', 'admin'])
    mounts = os.path.join(workdir, 'cinder-mnt')
    os.makedirs(mounts, exist_ok=True)
    return glance.StoreSpec(
        store_id, 'cinder', 'Cinder store %s (%s)' % (store_id, volume_type),
        {'cinder_volume_type': volume_type,
         'cinder_store_auth_address': keystone.url,
         'cinder_store_user_name': 'glance',
         'cinder_store_password': keystone.passwords['glance'],
         'cinder_store_project_name': 'service',
         'cinder_store_user_domain_name': 'Default',
         'cinder_store_project_domain_name': 'Default',
         'cinder_mount_point_base': mounts})


def privsep_extra_conf(glance_venv, conf_path):
    """glance-api.conf's ``[privsep_osbrick]``: the helper, no sudo."""
    return {'privsep_osbrick': {'helper_command': '%s --config-file %s' % (
        os.path.join(glance_venv, 'bin', 'privsep-helper'), conf_path)}}
