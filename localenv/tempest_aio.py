"""tempest against the local all-in-one cloud (``tox -e tempest-aio``).

1. ``localenv.cloud`` up: our driver loaded, Glance multi-store configured
   by the devstack plugin, boot images in a non-default store.
2. Our tempest plugin's tests and upstream's ``tempest.api.compute.images``
   and ``test_create_backup`` tests, in one ``tempest run``.
3. nova-compute restarted with ``[glance] store`` set: the plugin's
   ``NGM_SNAPSHOT_STORE`` and its post-config and test-config phases
   again (never an edit by hand), then the dedicated-store tests only.
4. Down, always, even when a phase failed. The exit code is non-zero when
   any phase failed; every phase's time is printed at the end.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from localenv import cloud as cloud_env
from localenv import common
from localenv import devstack

PHASE1_REGEX = (r'^(nova_glance_multistore\.'
                r'|tempest\.api\.compute\.images\.'
                r'|tempest\.api\.compute\.servers\.test_server_actions\.'
                r'.*\.test_create_backup)')
PHASE2_REGEX = r'^nova_glance_multistore\..*DedicatedStore'
# The archive file store: writable, neither the default nor the store the
# boot images are in, so a snapshot there can only come from [glance] store.
DEDICATED_STORE = 'archive'


def run_tempest(cloud, regex, concurrency):
    """``tempest run`` in the cloud's workspace; its exit code."""
    env = dict(os.environ, TEMPEST_CONFIG_DIR=os.path.dirname(
        cloud.tempest_conf), TEMPEST_CONFIG='tempest.conf')
    common.log('tempest run --regex %s --concurrency %d' % (
        regex, concurrency))
    return subprocess.run(
        [cloud.bin('tempest'), 'run', '--regex', regex, '--concurrency',
         str(concurrency)], cwd=cloud.tempest_dir, env=env).returncode


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


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m localenv.tempest_aio')
    parser.add_argument('--concurrency', type=int, default=2)
    parser.add_argument('--phase1-regex', default=PHASE1_REGEX)
    parser.add_argument('--phase2-regex', default=PHASE2_REGEX)
    parser.add_argument('--dedicated-store', default=DEDICATED_STORE)
    parser.add_argument('--workdir', default=cloud_env.WORKDIR)
    args = parser.parse_args(argv)

    # tox (or CI) stops a run with SIGTERM: turn it into an exception so
    # that the teardown below still runs.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    cloud = cloud_env.Cloud(args.workdir)
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
                                      args.concurrency))
            if not phase('nova-compute with [glance] store = %s' %
                         args.dedicated_store,
                         lambda: use_dedicated_store(
                             cloud, args.dedicated_store)):
                phase('tempest: dedicated-store tests',
                      lambda: run_tempest(cloud, args.phase2_regex,
                                          args.concurrency))
    finally:
        phase('teardown', cloud.down)
        print('\n%-55s %9s  %s' % ('phase', 'seconds', 'result'))
        for name, seconds, code in times:
            print('%-55s %9.1f  %s' % (name, seconds,
                                       'FAILED' if code else 'ok'))
        print('logs: %s' % cloud.path('logs'), flush=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
