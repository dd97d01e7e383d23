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

"""MariaDB, RabbitMQ and the schema migrations of ``localenv.cloud``."""

import concurrent.futures

from localenv import cloud_ini
from localenv import mariadb as mariadb_env
from localenv import rabbitmq as rabbitmq_env

DATABASES = ('keystone', 'placement', 'glance', 'neutron', 'nova_api',
             'nova', 'nova_cell0')


class DatabasesMixin:
    """The step "MariaDB and RabbitMQ"; migrations run in the background."""

    def _databases(self):
        self.db = self.component('mariadb', mariadb_env.MariaDB(
            self.path('mariadb')))
        self.db.create_databases(*DATABASES)
        self.mq = self.component('rabbitmq', rabbitmq_env.RabbitMQ(
            self.path('rabbitmq')), pids=lambda mq: zip(
                ('rabbitmq', 'epmd'), mq.pids))
        self._start_migrations()

    def _start_migrations(self):
        """Schema migrations in the background while keystone starts.

        They need nothing but the database (and, for nova's cells, the
        transport URL), so each runs from a database-only config file; the
        step that starts a service waits for its own migrations. About 25 s
        of a cloud's start-up.
        """
        nova_conf = self.path('etc', 'nova', 'migrate.conf')
        cloud_ini.write_ini(nova_conf, {
            'DEFAULT': {'transport_url': self.mq.transport_url},
            'api_database': {'connection': self.db.url('nova_api')},
            'database': {'connection': self.db.url('nova')}})
        neutron_conf = self.path('etc', 'neutron', 'migrate.conf')
        cloud_ini.write_ini(neutron_conf, {
            'DEFAULT': {'core_plugin': 'ml2', 'service_plugins': ''},
            'database': {'connection': self.db.url('neutron')}})
        placement_conf = self.path('etc', 'placement', 'migrate.conf')
        cloud_ini.write_ini(placement_conf, {'placement_database': {
            'connection': self.db.url('placement')}})
        manage = [self.bin('nova-manage'), '--config-file', nova_conf]
        self.migrations = {
            'placement': [[self.bin('placement-manage'), '--config-file',
                           placement_conf, 'db', 'sync']],
            'neutron': [[self.bin('neutron-db-manage'), '--config-file',
                         neutron_conf, 'upgrade', 'heads']],
            'nova': [manage + ['api_db', 'sync'],
                     # cell0's URL: [database] connection's with
                     # "_cell0" appended (nova_cell0); never on the
                     # command line, where ps would show its password.
                     manage + ['cell_v2', 'map_cell0'],
                     manage + ['cell_v2', 'create_cell', '--name', 'cell1'],
                     manage + ['db', 'sync']],
        }
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.migrations = {
            name: self._pool.submit(self._run_all, commands)
            for name, commands in self.migrations.items()}
        self._pool.shutdown(wait=False)

    def _run_all(self, commands):
        for argv in commands:
            self.run(*argv)

    def migrated(self, name):
        """Wait for a service's migrations; raise their error."""
        self.migrations[name].result()
