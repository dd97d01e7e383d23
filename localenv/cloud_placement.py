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

"""placement for ``localenv.cloud``: placement.conf and its uWSGI service."""

import os

from localenv import cloud_ini


class PlacementMixin:
    """The step "placement"."""

    def _placement(self):
        confdir = self.path('etc', 'placement')
        cloud_ini.write_ini(os.path.join(confdir, 'placement.conf'), {
            'DEFAULT': {'debug': 'false'},
            'api': {'auth_strategy': 'keystone'},
            'keystone_authtoken': self._authtoken('placement'),
            'placement_database': {
                'connection': self.db.url('placement')},
        })
        self.migrated('placement')
        url = self.serve_uwsgi('placement', 'placement.wsgi.api:application',
                               {'OS_PLACEMENT_CONFIG_DIR': confdir})
        self.keystone.endpoint('placement', 'placement', url)
        self.state['urls']['placement'] = url
