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

"""What tempest needs from ``localenv.cloud``: images, flavors, tempest.conf.

The images and flavors tempest boots, the openrc file, the tempest
workspace and the upstream part of tempest.conf (our plugin's part comes
from the devstack plugin's test-config phase).
"""

import os
import subprocess

from localenv import cloud_ini
from localenv import devstack

FLAVORS = (('42', 'm1.ngm', 64), ('84', 'm1.ngm.alt', 128))


class TempestMixin:
    """The steps "images and flavors" and "openrc and tempest workspace"."""

    @property
    def tempest_dir(self):
        return self.path('tempest')

    @property
    def tempest_conf(self):
        return os.path.join(self.tempest_dir, 'etc', 'tempest.conf')

    def _images_and_flavors(self):
        """Two OS-less 64 MiB qcow2 images in the plugin's boot store.

        The boot store is deliberately not Glance's default: the upload
        carries ``x-image-meta-store``.
        """
        store = self.plugin['NGM_BOOT_IMAGE_STORE']
        token, _ = self.keystone.token('admin', 'admin')
        disk = self.path('data', 'tiny.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk,
                        '64M'], check=True)
        with open(disk, 'rb') as handle:
            data = handle.read()
        images = []
        for name in ('ngm-tiny', 'ngm-tiny-alt'):
            image = self.glance.create_image(
                name, data, store=store, token=token, disk_format='qcow2',
                visibility='public')
            if image.get('stores') != store:
                raise RuntimeError('image %s landed in %s, not %s' % (
                    image['id'], image.get('stores'), store))
            images.append(image['id'])
        self.state['images'] = images
        self.state['boot_image_store'] = store
        for flavor_id, name, ram in FLAVORS:
            self.openstack('flavor', 'create', '--id', flavor_id, '--ram',
                           str(ram), '--disk', '1', '--vcpus', '1', name)

    def _tempest_workspace(self):
        env = self.openrc_env()
        fd = os.open(self.path('openrc'), os.O_WRONLY | os.O_CREAT |
                     os.O_TRUNC, 0o600)  # the admin password
        with os.fdopen(fd, 'w') as handle:
            handle.write('# admin credentials of the local cloud\n')
            for key in sorted(k for k in env if k.startswith('OS_')):
                handle.write('export %s=%s\n' % (key, env[key]))
            handle.write('export PATH=%s:$PATH\n' % self.bin(''))
        self.run(self.bin('tempest'), 'init', '--workspace-path',
                 self.path('tempest-workspaces.yaml'), self.tempest_dir)
        self.write_tempest_conf()
        devstack.run_phase(self.devstack_files(), 'stack', 'test-config')

    def write_tempest_conf(self):
        """The upstream part of tempest.conf.

        Our plugin's part comes from the devstack plugin's test-config
        phase.
        """
        urls = self.state['urls']
        images = self.state['images']
        cloud_ini.write_ini(self.tempest_conf, {
            'DEFAULT': {'log_file': self.path('logs', 'tempest.log')},
            'oslo_concurrency': {'lock_path': self.path('locks')},
            'auth': {'use_dynamic_credentials': 'true',
                     'create_isolated_networks': 'false',
                     'admin_username': 'admin',
                     'admin_password': self.state['admin_password'],
                     'admin_project_name': 'admin',
                     'admin_domain_name': 'Default'},
            'identity': {'uri_v3': urls['identity'], 'auth_version': 'v3',
                         'region': 'RegionOne'},
            'identity-feature-enabled': {'api_v2': 'false'},
            'compute': {'image_ref': images[0], 'image_ref_alt': images[1],
                        'flavor_ref': FLAVORS[0][0],
                        'flavor_ref_alt': FLAVORS[1][0],
                        'min_microversion': '2.1',
                        'max_microversion': 'latest',
                        'min_compute_nodes': '1',
                        'build_timeout': '180'},
            'compute-feature-enabled': {
                'snapshot': 'true', 'resize': 'false',
                'cold_migration': 'false', 'live_migration': 'false',
                'vnc_console': 'false', 'spice_console': 'false',
                'serial_console': 'false', 'console_output': 'false',
                'change_password': 'false', 'interface_attach': 'false',
                'personality': 'false', 'attach_encrypted_volume': 'false'},
            'image': {'build_timeout': '180'},
            'network': {'project_networks_reachable': 'false'},
            'service_available': {'cinder': str(self.has_cinder()).lower(),
                                  'swift': 'false',
                                  'neutron': 'true', 'glance': 'true',
                                  'nova': 'true'},
            'validation': {'run_validation': 'false'},
        })
