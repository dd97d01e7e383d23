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

"""Cinder for ``localenv.cloud``: RBD backends on the cloud's Ceph cluster.

cinder-api, -scheduler and -volume from their own venv
(``localenv.cinder``), one RBD backend and volume type per tier, so that
Glance can have cinder stores (the devstack plugin's
``NGM_GLANCE_CINDER_STORES``) and nova volume-backed servers (nova's
``[cinder]`` section; libvirt holds Cinder's cephx key as the secret the
volumes' connection info names). Without Ceph there is no Cinder: this
kernel has no device-mapper, SCSI, LIO or NVMe-oF for the LVM/iSCSI
backends (../shared/notes/cinder.md).
"""

import os

from localenv import cinder as cinder_env
from localenv import common
from localenv import devstack
from localenv import keystone as keystone_env

# The cloud's cinder stores: id -> volume type (localenv.cinder's tiers).
CINDER_STORES = {'cinder-fast': 'glance-fast', 'cinder-slow': 'glance-slow'}
# devstack's service names for Cinder.
CINDER_SERVICES = ('c-api', 'c-sch', 'c-vol')


class CinderMixin:
    """The step "Cinder", and what Glance, nova and tempest need of it."""

    def has_cinder(self):
        return bool(self.state and self.state['urls'].get('volume'))

    def _cinder(self):
        if not self.ceph:
            common.log('cloud: no Ceph, no Cinder (its LVM/iSCSI backends '
                       'cannot run on this kernel): no cinder stores, no '
                       'volume-backed servers')
            return
        service = cinder_env.CinderService(
            self.path('cinder'), self.ceph_cluster, self.keystone, self.db,
            self.mq)
        self.cinder = self.component('cinder', service, pids=lambda c: [
            (os.path.basename(p.args[0]), p.pid) for p in c.processes])
        self.state['urls']['volume'] = service.url
        # For down: os-brick's keyring under /etc/ceph goes with Cinder.
        self.state['cinder_etc_keyring'] = service.etc_keyring
        self.state['cinder_secret_uuid'] = service.secret_uuid
        self.save_state()
        # The plugin's settings with the cinder stores in.
        self.plugin = devstack.settings(self.devstack_files())

    def plugin_cinder_stores(self):
        """The cinder store ids the plugin configured, in order."""
        if not self.has_cinder():
            return []
        return [entry.split(':', 1)[0] for entry in self.plugin[
            'NGM_GLANCE_CINDER_STORES'].split(',') if entry]

    def cinder_variables(self):
        """What the plugin is told of the cloud's Cinder."""
        if not self.has_cinder():
            return {}
        stores = ','.join('%s:%s' % item for item in CINDER_STORES.items())
        return {'NGM_GLANCE_CINDER_STORES': stores,
                # What devstack gives every plugin: Glance's service user.
                'SERVICE_PASSWORD': keystone_env.service_password('glance'),
                'SERVICE_PROJECT_NAME': 'service',
                'KEYSTONE_SERVICE_URI': self.state['urls']['identity'][
                    :-len('/v3')]}

    def cinder_glance_conf(self):
        """glance-api.conf's os-brick helper: privsep without sudo."""
        if not self.has_cinder():
            return {}
        return cinder_env.privsep_extra_conf(
            self.venv, self.path('glance', 'etc', 'glance-api.conf'))

    def cinder_nova_conf(self):
        """nova.conf's ``[cinder]``: Cinder in the catalog, as nova."""
        if not self.has_cinder():
            return {}
        return {'cinder': dict(self._client_auth(),
                               os_region_name='RegionOne',
                               catalog_info='volumev3::publicURL')}

    def define_cinder_secret(self, compute):
        """Cinder's cephx key in the host's libvirtd (volume attachments)."""
        if not self.has_cinder():
            return
        self.define_libvirt_ceph_secret(compute, self.state['ceph_conf'],
                                        cinder_env.USER,
                                        self.state['cinder_secret_uuid'])

    def remove_cinder_keyring(self):
        """os-brick's global keyring file, if this cloud left one."""
        path = (self.state or {}).get('cinder_etc_keyring')
        if path and os.path.exists(path):
            os.remove(path)
