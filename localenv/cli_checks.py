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

"""The operator CLI in the all-in-one cloud, for tempest-aio.

``explain --flavor/--server`` read nova's real API (a flavor's extra specs,
a server's metadata), and ``image`` follows a snapshot's copy to a second
store: what the functional tests cannot show without nova-api.
"""

import json
import subprocess
import time

from localenv import cloud_tempest
from localenv import common

KEY = 'glance_multistore:snapshot_store'
COPY_KEY = 'glance_multistore:copy_to_stores'
FLAVOR = 'ngm-policy-cli'


def _cli(cloud, *args):
    """The CLI as an operator on the compute host runs it: exit, stdout."""
    done = subprocess.run(
        [cloud.bin('nova-glance-multistore'), '--config-file',
         cloud.nova_cpu_conf] + list(args), capture_output=True, text=True,
        timeout=120)
    common.log('nova-glance-multistore %s ->\n%s' % (' '.join(args),
                                                     done.stdout.rstrip()))
    return done.returncode, done.stdout


def _expect(cloud, args, code, *texts):
    got, out = _cli(cloud, *args)
    missing = [text for text in texts if text not in out]
    if got != code or missing:
        raise RuntimeError('nova-glance-multistore %s: exit %s (expected %s)'
                           ', missing %s in:\n%s' % (' '.join(args), got,
                                                     code, missing, out))
    return out


def check_cli(cloud, user_store, copy_store):
    """explain by flavor and by server, and a copy followed by ``image``."""
    ram = str(cloud_tempest.FLAVORS[0][2])
    cloud.openstack('flavor', 'create', '--ram', ram, '--disk', '1',
                    '--vcpus', '1', '--property', '%s=%s' % (KEY, user_store),
                    '--property', '%s=%s' % (COPY_KEY, copy_store), FLAVOR)
    server = image = None
    try:
        _expect(cloud, ['explain', '--flavor', FLAVOR, '--image',
                        cloud.state['images'][0]], 0,
                'store:  %s' % user_store,
                'source: flavor %s extra spec %s' % (FLAVOR, KEY),
                'copies: %s' % copy_store)
        server = json.loads(cloud.openstack(
            'server', 'create', '--flavor', FLAVOR, '--image',
            cloud.state['images'][0], '--nic', 'none', '--property',
            '%s=%s' % (KEY, user_store), '--wait', '-f', 'json',
            'ngm-policy-cli'))['id']
        _expect(cloud, ['explain', '--server', server], 0,
                'store:  %s' % user_store,
                "source: the user's choice (server metadata %s)" % KEY)
        cloud.openstack('server', 'set', '--property',
                        '%s=%s' % (KEY, copy_store), server)
        _expect(cloud, ['explain', '--server', server], 1,
                'refused:', 'users may not choose that store')
        cloud.openstack('server', 'set', '--property',
                        '%s=%s' % (KEY, user_store), server)
        image = json.loads(cloud.openstack(
            'server', 'image', 'create', '--wait', '-f', 'json', '--name',
            'ngm-policy-cli-snap', server))['id']
        deadline = time.monotonic() + 120
        while True:
            code, out = _cli(cloud, 'image', image)
            fields = {k.strip(): v.strip() for k, v in
                      (line.split(':', 1) for line in out.splitlines()
                       if ':' in line)}
            if (fields.get('copying to') == 'none' and
                    fields.get('status') == 'active' or
                    time.monotonic() > deadline):
                break
            time.sleep(2)
        if (code != 0 or fields.get('copy failed') != 'none' or
                set(fields.get('stores', '').split(', ')) !=
                {user_store, copy_store}):
            raise RuntimeError('snapshot %s is not in %s and %s with no '
                               'failed copy: %s' % (image, user_store,
                                                    copy_store, out))
    finally:
        if image:
            cloud.openstack('image', 'delete', image)
        if server:
            cloud.openstack('server', 'delete', '--wait', server)
        cloud.openstack('flavor', 'delete', FLAVOR)
    return 0
