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

"""The secrets of ``localenv.cloud``, and the checks that none leaks.

Every secret the cloud handed out, checked for on the command lines of
its processes (after each step of ``up``) and in its logs.
"""

import os

from localenv import cloud_keystone
from localenv import common
from localenv import keystone as keystone_env
from localenv import libvirt as libvirt_env
from localenv import mariadb as mariadb_env
from localenv import rabbitmq as rabbitmq_env
from localenv import secret_scan


class SecretsMixin:
    """Secrets: which there are, and where they must not show."""

    def secret_values(self):
        """``{what: value}`` of every secret this cloud handed out.

        Known without the process that ran ``up``: the fixed passwords,
        the keys in the cloud's keyring and key files, and whatever this
        process registered (nova's cephx key).
        """
        found = dict(common.known_secrets())
        found.update({
            'MariaDB password': mariadb_env.PASSWORD,
            'RabbitMQ password': rabbitmq_env.PASSWORD,
            'keystone admin password': keystone_env.ADMIN_PASSWORD})
        for user in cloud_keystone.SERVICE_USERS + ('cinder', 'rgw'):
            found['keystone password of %s' % user] = (
                keystone_env.service_password(user))
        # Every site's cluster: its keyrings sit beside its ceph.conf.
        for directory in [self.path('ceph')] + [
                os.path.dirname(conf) for conf in (self.state or {}).get(
                    'site_ceph_confs', {}).values()]:
            found.update(secret_scan.keyring_keys(directory))
        for keys in ('fernet-keys', 'credential-keys'):
            directory = self.path('keystone', keys)
            for name in (sorted(os.listdir(directory))
                         if os.path.isdir(directory) else []):
                with open(os.path.join(directory, name)) as handle:
                    found['keystone %s/%s' % (keys, name)] = (
                        handle.read().strip())
        found.update(self._s3_secrets())
        return {what: value for what, value in found.items() if value}

    def _s3_secrets(self):
        """The S3 secret keys the plugin wrote into glance-api.conf."""
        import configparser
        parser = configparser.RawConfigParser(strict=False)
        parser.read(self.path('glance', 'etc', 'glance-api.conf'))
        return {'S3 secret of store %s' % section:
                parser.get(section, 's3_store_secret_key')
                for section in parser.sections()
                if parser.has_option(section, 's3_store_secret_key')}

    def check_command_lines(self):
        """Raise when a process we started shows a secret to ``ps``."""
        leaders = {p['pid'] for p in self.running()}
        pids = set(secret_scan.ours(leaders))
        for daemon in self.state.get('libvirtds', {}).values():
            guests = libvirt_env.guest_processes(daemon['workdir'])
            pids |= {g['pid'] for g in guests.values()}
        findings = secret_scan.scan_command_lines(sorted(pids),
                                                  self.secret_values())
        if findings:
            raise RuntimeError('secrets on command lines:\n%s' %
                               secret_scan.describe(findings))

    def scan_logs_for_secrets(self):
        """Search every log of the cloud for its secrets; the findings.

        For the end of a run (``tox -e tempest-aio`` fails on a finding).
        """
        findings = secret_scan.scan_logs([self.workdir],
                                         self.secret_values())
        for line in secret_scan.describe(findings).splitlines():
            common.log('secret in a log: %s' % line)
        common.log('cloud: %d secret(s) found in the logs under %s' % (
            len(findings), self.workdir))
        return findings
