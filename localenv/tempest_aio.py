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

"""tempest against the local all-in-one cloud (``tox -e tempest-aio``).

1. ``localenv.cloud`` up: our driver loaded, Glance multi-store configured
   by the devstack plugin, boot images in a non-default store.
2. Our tempest plugin's tests and upstream's ``tempest.api.compute.images``
   and ``test_create_backup`` tests, in one ``tempest run`` (among them the
   store policy: a user's allowed and refused choice, a flavor's store and
   a copy to a second store); the operator CLI's ``explain --flavor``,
   ``--server`` and ``image`` against nova's API (``localenv.cli_checks``);
   then the object and cinder stores' tests (a server booted from an image
   in each such store snapshots into it).
3. nova-compute restarted with ``[glance] store`` set: the plugin's
   ``NGM_SNAPSHOT_STORE`` and its post-config and test-config phases
   again (never an edit by hand), then the dedicated-store tests only.
4. With Ceph (the cloud has it when Ceph is installed): nova-compute
   restarted on rbd instance disks, as with devstack-plugin-ceph
   (``Cloud.emulate_devstack_plugin_ceph_nova``), with
   ``NGM_SNAPSHOT_STORE`` set to the rbd store; the plugin's post-config
   then computes ``ceph_native = True`` for tempest. Then the
   ceph-native and dedicated-store tests, and a check outside tempest
   (``localenv.ceph_checks``): a snapshot's clone is in the store's pool,
   flattened, and nova-compute logged the ceph-native path. Then each
   site (``localenv.cloud_sites``: site 1 is a second compute host on a
   second Ceph cluster, in its own availability zone) snapshots a server
   of its zone ceph-native into its own rbd store (``SiteSnapshotTest``).
5. Then the plugin's copy-on-write mode (``NGM_CEPH_NATIVE_SNAPSHOT``;
   its post-config sets Ceph up for it), nova-compute restarted: the
   ceph-native and copy-on-write tests (a server booted from a snapshot
   outlives its source), and outside tempest: the image is a clone of
   the instance disk, whose deleted disk waits in the trash until the
   image goes and is purged with it.
6. Down, always, even when a phase failed; then every log of the cloud
   is searched for the cloud's passwords and keys (a finding fails the
   run). The exit code is non-zero when any phase failed; every phase's
   time is printed at the end.

Green means it ran: a tempest phase fails when tempest skipped a test
that is not in ``EXPECTED_SKIPS`` (read from ``stestr last --subunit``),
and the Ceph phase fails when Ceph is installed but ``--no-ceph`` turned
it off, or (``NGM_STRICT=1``, as ``tools/test.sh`` runs it) when Ceph is
missing.
"""

import argparse
import configparser
import json
import os
import re
import signal
import subprocess
import sys
import time

from localenv import ceph as ceph_env
from localenv import ceph_checks
from localenv import cli_checks
from localenv import cloud as cloud_env
from localenv import common
from localenv import devstack

PHASE1_REGEX = (r'^(nova_glance_multistore\.'
                r'(?!.*(ObjectStoreSnapshotTest|CinderStoreSnapshotTest))'
                r'|tempest\.api\.compute\.images\.'
                r'|tempest\.api\.compute\.servers\.test_server_actions\.'
                r'.*\.test_create_backup)')
PHASE2_REGEX = r'^nova_glance_multistore\..*DedicatedStore'
PHASE3_REGEX = (r'^nova_glance_multistore\.'
                r'.*(CephNativeSnapshotTest|DedicatedStore)')
PHASE4_REGEX = (r'^nova_glance_multistore\.'
                r'.*(CephNativeSnapshotTest|CopyOnWriteSnapshotTest)')
OBJECT_STORES_REGEX = (r'^nova_glance_multistore\.'
                       r'.*(ObjectStoreSnapshotTest|CinderStoreSnapshotTest)')
SITES_REGEX = r'^nova_glance_multistore\..*SiteSnapshotTest'
# The archive file store: writable, neither the default nor the store the
# boot images are in, so a snapshot there can only come from [glance] store.
DEDICATED_STORE = 'archive'
# The rbd store of site 0, on the cloud's first Ceph cluster
# (localenv.cloud_sites).
CEPH_NATIVE_STORE = 'ceph-0'

# The skips tempest may report here, {phase: {test id regex: why}}; any
# other skip fails the phase. A class-level skip's id is
# ``setUpClass (<module>.<Class>)``, so the regexes match class names.
PLUGIN_TESTS = r'^(setUpClass \()?nova_glance_multistore\.tempest_plugin\.'
NO_CINDER = ('no cinder in this cloud ([service_available] cinder = '
             'False): nova-api snapshots volume-backed servers itself')
# Only when the cloud has no Cinder (no Ceph): see expected_skips().
NO_CINDER_SKIPS = {
    PLUGIN_TESTS + r'.*\.VolumeBackedSnapshotTest\b': NO_CINDER,
}
EXPECTED_SKIPS = {
    'plugin + upstream': {
        PLUGIN_TESTS + r'.*\.DedicatedStoreSnapshotTest\b':
            'no [glance] store yet: the dedicated-store and ceph-native '
            'phases run it',
        PLUGIN_TESTS + r'.*\.CephNativeSnapshotTest\b':
            'local instance disks: the ceph-native phase runs it',
        PLUGIN_TESTS + r'.*\.CopyOnWriteSnapshotTest\b':
            'local instance disks: the copy-on-write phase runs it',
        PLUGIN_TESTS + r'.*\.SiteSnapshotTest\b':
            'site 0 has local instance disks until the ceph-native phase; '
            'the sites phase runs it',
    },
    'object stores': {},
    'dedicated store': {},
    'ceph-native': {},
    'sites': {},
    'copy-on-write': {},
}
SKIPS_SCRIPT = '''
import json, sys
import subunit, testtools
skips = []
def on_test(test):
    if test["status"] == "skip":
        reason = test["details"].get("reason")
        skips.append([test["id"], reason.as_text() if reason else ""])
stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer,
                                          non_subunit_name="stdout")
result = testtools.StreamToDict(on_test)
result.startTestRun()
stream.run(result)
result.stopTestRun()
json.dump(skips, sys.stdout)
'''


def expected_skips(cloud, phase_name):
    """EXPECTED_SKIPS[phase_name], and the skips of what the cloud lacks."""
    expected = dict(EXPECTED_SKIPS[phase_name])
    if not cloud.has_cinder():
        expected.update(NO_CINDER_SKIPS)
        if phase_name == 'object stores':
            expected[PLUGIN_TESTS + r'.*\.CinderStoreSnapshotTest\b'] = (
                NO_CINDER)
    if phase_name == 'object stores' and not cloud.plugin_object_stores():
        expected[PLUGIN_TESTS + r'.*\.ObjectStoreSnapshotTest\b'] = (
            'no radosgw: no object stores')
    return expected


def strict():
    return os.environ.get('NGM_STRICT', '') not in ('', '0')


def unexpected_skips(skips, expected):
    """The (test id, reason) pairs no regex of ``expected`` matches."""
    return [(test_id, reason) for test_id, reason in skips
            if not any(re.search(regex, test_id) for regex in expected)]


def last_run_skips(cloud):
    """(test id, reason) of every test the last ``tempest run`` skipped."""
    env = dict(os.environ, TEMPEST_CONFIG_DIR=os.path.dirname(
        cloud.tempest_conf), TEMPEST_CONFIG='tempest.conf')
    stream = subprocess.run(
        [cloud.bin('stestr'), 'last', '--subunit'], cwd=cloud.tempest_dir,
        env=env, capture_output=True, check=True, timeout=300).stdout
    done = subprocess.run([cloud.bin('python'), '-c', SKIPS_SCRIPT],
                          input=stream, capture_output=True, check=True,
                          timeout=300)
    return [tuple(skip) for skip in json.loads(done.stdout)]


def check_skips(skips, expected):
    """0, or 1 after logging every skip not in ``expected``."""
    for test_id, reason in skips:
        common.log('tempest skipped %s: %s' % (test_id, reason))
    unexpected = unexpected_skips(skips, expected)
    for test_id, reason in unexpected:
        common.log('UNEXPECTED skip (not in EXPECTED_SKIPS): %s: %s' % (
            test_id, reason))
    return 1 if unexpected else 0


def run_tempest(cloud, regex, concurrency, expected):
    """``tempest run`` in the cloud's workspace; 0 if it passed.

    Passed: tempest's exit code 0 and no skip outside ``expected``.
    """
    env = dict(os.environ, TEMPEST_CONFIG_DIR=os.path.dirname(
        cloud.tempest_conf), TEMPEST_CONFIG='tempest.conf')
    common.log('tempest run --regex %s --concurrency %d' % (
        regex, concurrency))
    code = subprocess.run(
        [cloud.bin('tempest'), 'run', '--regex', regex, '--concurrency',
         str(concurrency)], cwd=cloud.tempest_dir, env=env).returncode
    return check_skips(last_run_skips(cloud), expected) or code


def ceph_phase_skip(missing_reason, strict_mode):
    """(is a failure, why) for a cloud without Ceph: phase 3 not run.

    A failure when Ceph is installed (``missing_reason`` is None) or in
    strict mode; a skip, with the reason, otherwise.
    """
    if missing_reason is None:
        return True, ('ceph-native phase FAILED: Ceph is installed but '
                      '--no-ceph turned it off')
    if strict_mode:
        return True, ('ceph-native phase FAILED: no real Ceph here: %s '
                      '(NGM_STRICT=1: a missing real part is a failure)'
                      % missing_reason)
    return False, ('ceph-native phase SKIPPED: no real Ceph here: %s'
                   % missing_reason)


def use_dedicated_store(cloud, store):
    """Set ``[glance] store`` through the devstack plugin.

    Then nova-compute restarts (on nova.conf copied to nova-cpu.conf, as
    devstack does).
    """
    cloud.plugin_overrides['NGM_SNAPSHOT_STORE'] = store
    files = cloud.devstack_files()
    devstack.run_phase(files, 'stack', 'post-config')
    devstack.run_phase(files, 'stack', 'test-config')
    cloud.restart_compute()


def use_ceph_disks(cloud, store):
    """nova-compute on rbd disks with ``[glance] store`` = an rbd store.

    devstack-plugin-ceph's part emulated by the cloud, then our plugin's
    post-config and test-config as in phase 2.
    """
    cloud.emulate_devstack_plugin_ceph_nova()
    if cloud.sites_enabled():
        # Every site is on rbd disks now: the sites test can run.
        cloud.plugin_overrides['NGM_SITE_STORES'] = cloud.site_stores()
    use_dedicated_store(cloud, store)
    conf = configparser.RawConfigParser(strict=False)
    conf.read(cloud.tempest_conf)
    if conf.get('nova_glance_multistore', 'ceph_native') != 'True':
        raise RuntimeError('the plugin did not set ceph_native = True')


def use_copy_on_write(cloud):
    """The plugin's copy-on-write mode (and its Ceph settings), restarted."""
    cloud.plugin_overrides['NGM_CEPH_NATIVE_SNAPSHOT'] = 'copy-on-write'
    files = cloud.devstack_files()
    devstack.run_phase(files, 'stack', 'post-config')
    devstack.run_phase(files, 'stack', 'test-config')
    cloud.restart_compute()


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m localenv.tempest_aio')
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--phase1-regex', default=PHASE1_REGEX)
    parser.add_argument('--phase2-regex', default=PHASE2_REGEX)
    parser.add_argument('--dedicated-store', default=DEDICATED_STORE)
    parser.add_argument('--phase3-regex', default=PHASE3_REGEX)
    parser.add_argument('--phase4-regex', default=PHASE4_REGEX)
    parser.add_argument('--ceph-native-store', default=CEPH_NATIVE_STORE)
    parser.add_argument('--workdir', default=cloud_env.WORKDIR)
    parser.add_argument('--no-ceph', dest='ceph', action='store_false',
                        default=None, help='no rbd stores and no phase 3 '
                                           '(a failure when Ceph is '
                                           'installed)')
    args = parser.parse_args(argv)

    # tox (or CI) stops a run with SIGTERM: turn it into an exception so
    # that the teardown below still runs.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    cloud = cloud_env.Cloud(args.workdir, ceph=args.ceph)
    times = []
    failures = []

    def phase(name, func):
        start = time.monotonic()
        try:
            code = func()
        except Exception as e:
            common.log('%s failed: %s' % (name, e))
            code = 1
        times.append((name, time.monotonic() - start, code))
        if code:
            failures.append(name)
        return code

    try:
        if not phase('cloud up', lambda: cloud.up() and 0):
            phase('tempest: plugin + upstream compute images/backup',
                  lambda: run_tempest(cloud, args.phase1_regex,
                                      args.concurrency,
                                      expected_skips(cloud,
                                                     'plugin + upstream')))
            phase('CLI: explain --flavor/--server, image (copy to %s)'
                  % cloud.state['boot_image_store'],
                  lambda: cli_checks.check_cli(
                      cloud, cloud.plugin['NGM_USER_SELECTABLE_STORES'],
                      cloud.state['boot_image_store']))
            object_stores = (cloud.plugin_object_stores() +
                             cloud.plugin_cinder_stores())
            if object_stores:
                phase('tempest: snapshots into object and cinder stores %s'
                      % ', '.join(object_stores),
                      lambda: run_tempest(cloud, OBJECT_STORES_REGEX,
                                          args.concurrency,
                                          expected_skips(cloud,
                                                         'object stores')))
            elif cloud.ceph:
                # Ceph without RGW: the object-store phase cannot run.
                times.append(('object-store phase: not run (no radosgw)',
                              0.0, 1 if strict() else 0))
                if strict():
                    failures.append('object-store phase')
            if not phase('nova-compute with [glance] store = %s' %
                         args.dedicated_store,
                         lambda: use_dedicated_store(
                             cloud, args.dedicated_store)):
                phase('tempest: dedicated-store tests',
                      lambda: run_tempest(cloud, args.phase2_regex,
                                          args.concurrency,
                                          EXPECTED_SKIPS['dedicated store']))
            if not cloud.ceph:
                failed, why = ceph_phase_skip(ceph_env.missing_reason(),
                                              strict())
                common.log(why)
                if failed:
                    times.append(('ceph-native phase: not run', 0.0, 1))
                    failures.append('ceph-native phase')
            elif not phase('nova-compute on rbd disks, [glance] store = %s'
                           % args.ceph_native_store,
                           lambda: use_ceph_disks(
                               cloud, args.ceph_native_store)):
                phase('tempest: ceph-native + dedicated-store tests',
                      lambda: run_tempest(cloud, args.phase3_regex,
                                          args.concurrency,
                                          EXPECTED_SKIPS['ceph-native']))
                if cloud.sites_enabled():
                    phase('tempest: site snapshots %s' %
                          cloud.site_stores().replace(',', ', '),
                          lambda: run_tempest(cloud, SITES_REGEX,
                                              args.concurrency,
                                              EXPECTED_SKIPS['sites']))
                phase('ceph-native: clone in the pool, nova-compute log',
                      lambda: ceph_checks.check_ceph_native(
                          cloud, args.ceph_native_store))
                if not phase('nova-compute with ceph_native_snapshot = '
                             'copy-on-write',
                             lambda: use_copy_on_write(cloud)):
                    phase('tempest: ceph-native + copy-on-write tests',
                          lambda: run_tempest(cloud, args.phase4_regex,
                                              args.concurrency,
                                              EXPECTED_SKIPS['copy-on-write']))
                    phase('copy-on-write: clone of the disk, trash, purge',
                          lambda: ceph_checks.check_ceph_native(
                              cloud, args.ceph_native_store,
                              copy_on_write=True))
    finally:
        phase('teardown', cloud.down)
        # Fails the run when any log of the cloud holds one of its secrets.
        phase('no secret in the cloud\'s logs',
              lambda: len(cloud.scan_logs_for_secrets()))
        width = max([55] + [len(name) for name, _, _ in times])
        print('\n%-*s %9s  %s' % (width, 'phase', 'seconds', 'result'))
        for name, seconds, code in times:
            print('%-*s %9.1f  %s' % (width, name, seconds,
                                      'FAILED' if code else 'ok'))
        print('\n%-*s %9s' % (width, 'cloud up, step', 'seconds'))
        for title, seconds in (cloud.state or {}).get('step_seconds', []):
            print('  %-*s %9.1f' % (width - 2, title, seconds))
        print('\nexpected tempest skips (EXPECTED_SKIPS):')
        for name in EXPECTED_SKIPS:
            expected = expected_skips(cloud, name) if cloud.state else (
                EXPECTED_SKIPS[name])
            for regex, why in expected.items():
                print('  %s: %s\n      %s' % (name, regex, why))
        print('logs: %s' % cloud.path('logs'), flush=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
