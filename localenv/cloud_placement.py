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
