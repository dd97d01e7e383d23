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

"""Glance for ``localenv.cloud``, configured by our devstack plugin.

The multi-store configuration is written by ``devstack/plugin.sh``'s
post-config phase (``localenv.devstack``), as in devstack.
"""

from localenv import ceph as ceph_env
from localenv import devstack
from localenv import glance as glance_env


class GlanceMixin:
    """The step "Glance (devstack plugin post-config)"."""

    def _glance(self):
        # nova.conf must exist before the plugin's post-config writes
        # nova's options into it, as in devstack.
        self._write_nova_conf()
        files = self.devstack_files()
        server = glance_env.GlanceServer(
            self.path('glance'), keystone=self.keystone, venv=self.venv,
            # Glance's rbd driver needs Debian's rados/rbd bindings.
            extra_pythonpath=([ceph_env.bindings_dir()] if self.ceph
                              else []),
            post_config=lambda path: devstack.run_phase(
                files, 'stack', 'post-config'),
            extra_conf=dict({'database': {
                'connection': self.db.url('glance')},
                'DEFAULT': {'debug': 'false'}}, **self.cinder_glance_conf()))
        self.glance = self.component('glance', server)
        self.keystone.endpoint('image', 'glance', server.url)
        self.state['urls']['image'] = server.url
