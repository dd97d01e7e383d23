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

"""The tempest plugin class, loaded through ``tempest.test_plugins``."""

import os

from tempest import config
from tempest.test_discover import plugins

from nova_glance_multistore.tempest_plugin import config as ngm_config


class NovaGlanceMultistoreTempestPlugin(plugins.TempestPlugin):

    def load_tests(self):
        # Top level is the directory holding the nova_glance_multistore
        # package, so test ids are nova_glance_multistore.tempest_plugin...
        here = os.path.dirname(os.path.abspath(__file__))
        top_level = os.path.dirname(os.path.dirname(here))
        return os.path.join(here, 'tests'), top_level

    def register_opts(self, conf):
        conf.register_opt(ngm_config.service_option,
                          group='service_available')
        conf.register_group(ngm_config.group)
        conf.register_opts(ngm_config.opts, group=ngm_config.group)

    def get_opt_lists(self):
        return [
            (ngm_config.group.name, ngm_config.opts),
            ('service_available', [ngm_config.service_option]),
        ]

    def get_service_clients(self):
        params = {
            'name': 'nova_glance_multistore',
            'service_version': 'nova_glance_multistore.image_stores',
            'module_path': 'nova_glance_multistore.tempest_plugin.services',
            'client_names': ['ImageStoresClient'],
        }
        params.update(config.service_client_config('image'))
        return [params]
