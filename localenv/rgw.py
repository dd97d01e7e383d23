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

"""A real Ceph RGW (Debian's radosgw 16.2) on a throwaway CephCluster.

S3 with one RGW user per Glance S3 store (keys made by radosgw-admin, never
on a command line), and Swift with Keystone v3 tokens when a KeystoneServer
is given (its ``object-store`` endpoint is registered). Loopback only, no
systemd; radosgw runs as one of the cluster's processes.

Measured pitfalls (../shared/notes/rgw.md): radosgw needs ``mon 'allow rw'``
(it creates its pools), ``rgw keystone admin domain`` is a domain *name*,
and deleted objects stay in RADOS until garbage collection runs.
"""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from localenv import common
from localenv import service

DEBIAN_PACKAGES = ('radosgw',)
DATA_POOL = 'default.rgw.buckets.data'


def missing_reason():
    for binary in ('radosgw', 'radosgw-admin'):
        if not os.path.exists('/usr/bin/' + binary):
            return ('%s is missing: install Debian package radosgw '
                    '(tools/install-deps.sh does)' % binary)
    return None


class RadosGateway(service.HttpService):
    """radosgw serving S3 (and Swift through ``keystone``) on loopback."""

    missing_reason = staticmethod(missing_reason)

    def __init__(self, cluster, keystone=None, name='rgw.x', port=None):
        self.cluster = cluster
        self.keystone = keystone
        self.name = name
        self.port = port or common.free_port()
        self.process = None

    @property
    def swift_url(self):
        """The object-store endpoint, as Keystone's catalog gives it."""
        return self.url + '/swift/v1/AUTH_%(tenant_id)s'

    def _section(self):
        lines = ['[client.%s]' % self.name,
                 'rgw frontends = beast endpoint=127.0.0.1:%d' % self.port,
                 'rgw thread pool size = 64',
                 'rgw swift account in url = true']
        if self.keystone:
            self.keystone.user('rgw', 'service', ['admin'])
            lines += [
                'rgw keystone url = %s' % self.keystone.url[:-len('/v3')],
                'rgw keystone api version = 3',
                'rgw keystone admin user = rgw',
                'rgw keystone admin password = %s' %
                self.keystone.passwords['rgw'],
                'rgw keystone admin project = service',
                'rgw keystone admin domain = Default',  # a name (pitfall 2)
                'rgw keystone accepted roles = member, admin',
                'rgw keystone implicit tenants = false',
                'rgw s3 auth use keystone = false',
            ]
        return '\n'.join(lines) + '\n'

    def start(self):
        self.require()
        self.cluster.create_user(self.name, {'mon': 'allow rw',
                                             'osd': 'allow rwx'})
        with open(self.cluster.conf, 'a') as handle:
            handle.write(self._section())
        self.process = self.cluster.spawn('radosgw', '-n',
                                          'client.%s' % self.name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + '/', timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        else:
            self.process = None
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError('radosgw did not answer on %s: %s' % (
                self.url, common.tail(os.path.join(
                    self.cluster.workdir, 'log', 'radosgw.out'))))
        if self.keystone:
            self.keystone.endpoint('object-store', 'swift', self.swift_url)
        return self

    def stop(self):
        if self.process is not None:
            common.stop_process(self.process, grace=10)
            if self.process in self.cluster.processes:
                self.cluster.processes.remove(self.process)
            self.process = None

    # -- administration (as the cluster's admin) --------------------------

    def admin(self, *args, parse=True):
        done = common.run(['radosgw-admin', '-c', self.cluster.conf,
                           '-n', 'client.admin'] + list(args), timeout=120)
        return json.loads(done.stdout) if parse and done.stdout.strip() \
            else done.stdout

    def s3_user(self, uid):
        """A new RGW user with generated S3 keys: (access key, secret)."""
        user = self.admin('user', 'create', '--uid', uid, '--display-name',
                          'Glance store %s' % uid, '--gen-access-key',
                          '--gen-secret')
        key = user['keys'][0]
        common.register_secret(key['secret_key'], 'S3 secret of %s' % uid)
        return key['access_key'], key['secret_key']

    def objects(self, bucket):
        """{object name: size} of ``bucket`` ({} when it does not exist)."""
        try:
            listing = self.admin('bucket', 'list', '--bucket', bucket)
        except RuntimeError as e:
            if 'No such file or directory' in str(e) or '(2)' in str(e):
                return {}
            raise
        return {entry['name']: entry['meta']['size'] for entry in listing}

    def etags(self, bucket):
        """{object name: etag}; a multipart object's ends in ``-<parts>``."""
        listing = self.admin('bucket', 'list', '--bucket', bucket)
        return {entry['name']: entry['meta']['etag'] for entry in listing}

    def collect_garbage(self):
        """Run RGW's garbage collection now (it waits 2 h by default)."""
        self.admin('gc', 'process', '--include-all', parse=False)

    def rados_objects(self):
        """The RADOS objects holding bucket data, after gc: none left."""
        done = subprocess.run(['rados', '-c', self.cluster.conf, '-p',
                               DATA_POOL, 'ls'], capture_output=True,
                              text=True, timeout=60)
        if done.returncode:
            if 'No such file' in done.stderr or 'error opening pool' in \
                    done.stderr:
                return []
            raise RuntimeError('rados ls %s: %s' % (DATA_POOL, done.stderr))
        return done.stdout.split()


# -- Glance stores on this gateway ----------------------------------------

def s3_store(rgw, store_id, large_object_mib=5, chunk_mib=5):
    """A Glance ``s3`` store: its own RGW user and bucket.

    Sizes in MiB, as glance_store reads them; RGW, like AWS, refuses
    multipart parts under 5 MiB but the last.
    """
    from localenv import glance

    access, secret = rgw.s3_user('glance-%s' % store_id)
    return glance.StoreSpec(store_id, 's3', 'S3 store %s (RGW)' % store_id, {
        's3_store_host': rgw.url,
        's3_store_access_key': access,
        's3_store_secret_key': secret,
        's3_store_bucket': 'bucket-for-%s' % store_id,
        's3_store_create_bucket_on_put': 'True',
        's3_store_bucket_url_format': 'path',
        's3_store_large_object_size': str(large_object_mib),
        's3_store_large_object_chunk_size': str(chunk_mib),
    })


def swift_store(rgw, workdir, store_id, large_object_size=5120,
                chunk_size=200):
    """A Glance ``swift`` store as a Keystone user of project ``service``.

    Sizes in glance_store's units of 1 024 000 bytes. The credentials go
    in a swift config file (0600), never in Glance's database.
    """
    from localenv import glance

    user = 'glance-%s' % store_id
    rgw.keystone.user(user, 'service', ['member'])
    path = os.path.join(workdir, 'glance-swift-%s.conf' % store_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write('[ref-%s]\nuser = service:%s\nkey = %s\n'
                     'auth_address = %s\nauth_version = 3\n'
                     'user_domain_id = default\nproject_domain_id = default\n'
                     % (store_id, user, rgw.keystone.passwords[user],
                        rgw.keystone.url))
    options = {
        'swift_store_multi_tenant': 'False',
        'swift_store_config_file': path,
        'default_swift_reference': 'ref-%s' % store_id,
        'swift_store_create_container_on_put': 'True',
        'swift_store_container': 'glance-%s' % store_id,
        'swift_store_large_object_size': str(large_object_size),
        'swift_store_large_object_chunk_size': str(chunk_size),
    }
    return glance.StoreSpec(store_id, 'swift',
                            'Swift store %s (RGW)' % store_id, options)
