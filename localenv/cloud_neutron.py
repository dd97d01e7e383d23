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

"""neutron for ``localenv.cloud``: its API only (ml2, no agents)."""

import os
import shutil

from localenv import cloud_ini
from localenv import common


class NeutronMixin:
    """The step "neutron (API only)"."""

    def _neutron(self):
        confdir = self.path('etc', 'neutron')
        shutil.copy(os.path.join(self.venv, 'etc', 'neutron',
                                 'api-paste.ini'), confdir)
        conf = os.path.join(confdir, 'neutron.conf')
        cloud_ini.write_ini(conf, {
            'DEFAULT': {
                'core_plugin': 'ml2', 'service_plugins': '',
                'auth_strategy': 'keystone',
                'api_paste_config': os.path.join(confdir, 'api-paste.ini'),
                'transport_url': self.mq.transport_url,
                'notify_nova_on_port_status_changes': 'false',
                'notify_nova_on_port_data_changes': 'false',
                'api_workers': '1', 'rpc_workers': '0',
            },
            'database': {'connection': self.db.url('neutron')},
            'keystone_authtoken': self._authtoken('neutron'),
            'ml2': {'type_drivers': 'flat', 'tenant_network_types': '',
                    'mechanism_drivers': '',
                    'extension_drivers': 'port_security'},
            'ml2_type_flat': {'flat_networks': '*'},
            'oslo_concurrency': {'lock_path': self.path('locks')},
        })
        self.migrated('neutron')
        url = self.serve_uwsgi('neutron-api', 'neutron.wsgi.api:application',
                               {'OS_NEUTRON_CONFIG_DIR': confdir,
                                'OS_NEUTRON_CONFIG_FILES': 'neutron.conf'})
        self.keystone.endpoint('network', 'neutron', url)
        self.state['urls']['network'] = url
        # neutron 29: GET /v2.0/ports answers 500 after each start until
        # one GET /v2.0/networks has been served.
        token, _ = self.keystone.token('admin', 'admin')
        common.http_get(url + '/v2.0/networks', token)
