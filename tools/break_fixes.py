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

"""Break each fixed defect again and show that its unit tests fail.

A test that stays green with the code it guards broken is no test. Each
entry below undoes one fix (a one-line replacement in the package), runs
the unit tests that guard it, and restores the file whatever happens:

    .tox/functional/bin/python tools/break_fixes.py

Exit 0 when every break made at least one test fail, 1 otherwise.
"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = 'nova_glance_multistore/'
UNIT = 'tests/unit/'

# (what the fix does, file, fixed text, broken text, guarding tests)
BREAKS = [
    ("a 401/403 to the requester's context: nova's service user retries",
     PKG + 'cleanups.py', 'if result == _RESULTS.REFUSED:', 'if False:',
     UNIT + 'test_cleanup_retries.py'),
    ('requester contexts are forgotten after a bounded time',
     PKG + 'cleanups.py', 'if now - since >= REQUESTER_CONTEXT_TTL:',
     'if False:', UNIT + 'test_cleanup_retries.py'),
    ('an unparsable pending-cleanups file is moved aside',
     PKG + 'pending_cleanups.py',
     "self._move_aside('cannot be parsed (%s)' % e)", 'pass',
     UNIT + 'test_pending_cleanups.py'),
    ('remove() survives an OSError',
     PKG + 'pending_cleanups.py',
     '                    self._save(entries)\n            except OSError',
     '                    self._save(entries)\n            except KeyError',
     UNIT + 'test_pending_cleanups.py'),
    ('rbd leftovers are retried whatever images_type is',
     PKG + 'cleanups.py', 'if rbd and self._clock() < deadline:',
     "if rbd and self._clock() < deadline and "
     "_images_type(self.conf) == 'rbd':",
     UNIT + 'test_cleanup_retries.py'),
    ('retries start nothing once the time budget is spent',
     PKG + 'cleanups.py',
     '            if self._clock() >= deadline:\n                break',
     '            if False:\n                break',
     UNIT + 'test_cleanup_retries.py'),
    ('the upload retry rewinds its data to the start offset',
     PKG + 'image_api.py', 'data.seek(start)', 'pass',
     UNIT + 'test_image_api.py'),
    ("the service user's Keystone auth is made once per configuration",
     PKG + 'glance_client.py', '    entry = _SERVICE_AUTH.get(id(conf))\n',
     '    entry = None\n', UNIT + 'test_service_caches.py'),
    ('stores/detail is cached for stores_cache_ttl',
     PKG + 'store_details.py',
     '    return _detail_cache(glance).get(\n'
     '        conf.glance_multistore.stores_cache_ttl,\n'
     '        lambda: _fetch_stores_detail(conf, glance, context))',
     '    return _fetch_stores_detail(conf, glance, context)',
     UNIT + 'test_service_caches.py'),
    ('uploads tell Glance their size (S3 multipart, not in memory)',
     PKG + 'upload_framing.py',
     "        return {SIZE_HEADER: str(size)} if self.sized else {}",
     "        return {}", UNIT + 'test_image_api.py'),
    ('no size is sent where glance_store would hang a Swift upload',
     PKG + 'upload_framing.py', '        if size >= large and size % segment:',
     '        if False:', UNIT + 'test_upload_framing.py'),
    ('offloaded reads report the position handed out, not read ahead',
     PKG + 'offloaded_reads.py',
     '        return self._raw.tell() - (len(self._block) - self._offset)',
     '        return self._raw.tell()', UNIT + 'test_offloaded_reads.py'),
    ('copy-on-write falls back to flatten without clone format 2 OSDs',
     PKG + 'rbd_cow.py',
     '    osds_ok = (not known) or RELEASES.index(release) >= 1',
     '    osds_ok = True', UNIT + 'test_rbd_cow_librbd.py'),
    ('pinned counts the space of a disk pinned by two images once',
     PKG + 'cli.py', '_mib(sum({pin.disk_id: pin.allocated',
     '_mib(sum({id(pin): pin.allocated', UNIT + 'test_cli.py'),
]


def run_broken(path, fixed, broken, tests):
    """The names of the tests that fail with ``fixed`` made ``broken``."""
    full = os.path.join(ROOT, path)
    with open(full) as handle:
        text = handle.read()
    if text.count(fixed) != 1:
        raise SystemExit('%s: the fixed text is not there once' % path)
    try:
        with open(full, 'w') as handle:
            handle.write(text.replace(fixed, broken))
        out = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
             tests], cwd=ROOT, capture_output=True, text=True,
            timeout=600).stdout
    finally:
        with open(full, 'w') as handle:
            handle.write(text)
    return [line.split()[1] for line in out.splitlines()
            if line.startswith('FAILED ')]


def main():
    missed = 0
    for what, path, fixed, broken, tests in BREAKS:
        failed = run_broken(path, fixed, broken, tests)
        print('%s %s\n     broken in %s; %d failed in %s' % (
            'ok  ' if failed else 'MISS', what, path, len(failed), tests))
        for name in failed:
            print('       %s' % name)
        missed += not failed
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
