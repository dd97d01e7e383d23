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

"""keystone for ``localenv.cloud``, and the credentials it hands out.

The service users, their ``[keystone_authtoken]`` and keystoneauth
options, and the admin's environment (``openrc_env``) and CLI
(``openstack``).
"""

import os
import subprocess

from localenv import common
from localenv import keystone as keystone_env

SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron')


class KeystoneMixin:
    """The step "keystone"; how the others authenticate against it."""

    def _keystone(self):
        ks = keystone_env.KeystoneServer(self.path('keystone'),
                                         venv=self.venv,
                                         database=self.db.url('keystone'))
        self.keystone = self.component('keystone', ks)
        self.state['urls']['identity'] = ks.url
        self.state['admin_password'] = ks.passwords['admin']
        for name in SERVICE_USERS:
            ks.user(name, 'service', ['admin', 'service'])
        ks.role('member')
        ks.role('reader')

    def _authtoken(self, user):
        return self.keystone.authtoken_conf(user)

    def _client_auth(self, user='nova'):
        """keystoneauth options for a service talking to another one."""
        return {'auth_type': 'password', 'auth_url': self.keystone.url,
                'username': user, 'password': self.keystone.passwords[user],
                'project_name': 'service', 'user_domain_id': 'default',
                'project_domain_id': 'default', 'region_name': 'RegionOne'}

    def openrc_env(self):
        env = dict(os.environ)
        env.update({
            'OS_AUTH_URL': self.state['urls']['identity'],
            'OS_USERNAME': 'admin', 'OS_PROJECT_NAME': 'admin',
            'OS_PASSWORD': self.state['admin_password'],
            'OS_USER_DOMAIN_ID': 'default', 'OS_PROJECT_DOMAIN_ID': 'default',
            'OS_IDENTITY_API_VERSION': '3', 'OS_REGION_NAME': 'RegionOne',
        })
        return env

    def openstack(self, *args):
        done = subprocess.run([self.bin('openstack')] + list(args),
                              capture_output=True, text=True,
                              env=self.openrc_env(), timeout=120)
        if done.returncode:
            raise RuntimeError(common.redact('openstack %s: %s' % (
                ' '.join(args), done.stderr)))
        return done.stdout
