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

"""The CLI's commands with Glance, the hook pipeline and Ceph faked.

The functional tests run the installed console script against a real
Glance and Ceph; here each branch of what it prints and the exit code it
returns is driven on purpose.
"""

import io
import types

import pytest

from nova_glance_multistore import checks
from nova_glance_multistore import cli
from nova_glance_multistore import exception
from nova_glance_multistore import glance_client
from nova_glance_multistore.hooks import pipeline
from nova_glance_multistore import rbd_stores
from nova_glance_multistore import trash_pins
from nova_glance_multistore import uploads

FSID = '8ae43f1f-31db-454f-8373-6055cf34e1bf'
OTHER_FSID = '11111111-2222-3333-4444-555555555555'
STORES = {'stores': [
    {'id': 'fast', 'default': True, 'description': 'Fast'},
    {'id': 'web', 'read-only': True, 'description': 'Web'},
    {'id': 'ceph', 'description': 'Ceph'}]}
DETAIL = {'stores': [
    dict(STORES['stores'][0], type='file', properties={'data_dir': '/d'}),
    dict(STORES['stores'][1], type='http', properties={}),
    dict(STORES['stores'][2], type='rbd',
         properties={'pool': 'images', 'fsid': FSID})]}


class Facts:
    def __init__(self, body=STORES, detail=DETAIL, error=None):
        self.body, self.detail, self.error = body, detail, error
        self.asked = []

    def stores_info(self, ctxt):
        self.asked.append(('stores', ctxt))
        if self.error:
            raise self.error
        return self.body

    def stores_info_detail(self, ctxt):
        self.asked.append(('detail', ctxt))
        return self.detail


def _conf(images_type='qcow2'):
    return types.SimpleNamespace(
        libvirt=types.SimpleNamespace(images_type=images_type,
                                      rbd_user='nova'),
        glance_multistore=types.SimpleNamespace(
            ceph_native_snapshot='flatten', rbd_store_locations=[],
            stores_cache_ttl=0))


@pytest.fixture
def facts(monkeypatch):
    facts = Facts()
    monkeypatch.setattr(glance_client, 'GlanceFacts', lambda: facts)
    monkeypatch.setattr(glance_client, 'service_context',
                        lambda conf: 'service-ctxt')
    return facts


def run(command, conf=None, **args):
    out = io.StringIO()
    rc = command(conf or _conf(), types.SimpleNamespace(**args), out)
    return rc, out.getvalue()


def test_table_pads_every_column_to_its_widest_cell():
    assert cli._table([('a', 'long cell')], ['head', 'x']).splitlines() == [
        '+------+-----------+',
        '| head | x         |',
        '+------+-----------+',
        '| a    | long cell |',
        '+------+-----------+']


def test_stores_lists_flags_and_asks_as_nova_service_user(facts):
    rc, out = run(cli.cmd_stores, detail=False)
    assert rc == 0
    assert facts.asked == [('stores', 'service-ctxt')]
    lines = out.splitlines()
    assert lines[1].split() == ['|', 'id', '|', 'default', '|', 'read-only',
                                '|', 'description', '|']
    assert lines[3].split('|')[1:5] == [' fast ', ' yes     ', '           ',
                                        ' Fast        ']
    assert lines[4].split('|')[3].strip() == 'yes'
    assert 'type' not in out


def test_stores_detail_shows_type_and_properties(facts):
    rc, out = run(cli.cmd_stores, detail=True)
    assert rc == 0
    assert facts.asked == [('detail', 'service-ctxt')]
    ceph = [line for line in out.splitlines() if '| ceph ' in line][0]
    assert '| rbd ' in ceph
    assert '{"fsid": "%s", "pool": "images"}' % FSID in ceph


def test_stores_says_when_multistore_is_off(facts):
    facts.body = None
    rc, out = run(cli.cmd_stores, detail=False)
    assert rc == 1
    assert 'Multi-store is not enabled in Glance' in out


class Hooks:
    names = ['multistore']

    def __init__(self, conf):
        pass


def configured_stores(conf, catalog, ctxt):
    assert ctxt == 'service-ctxt'
    return [(True, '[glance] store fast is a writable Glance store')]


@pytest.fixture
def check_parts(monkeypatch, facts):
    monkeypatch.setattr(pipeline, 'UploadHookPipeline', Hooks)
    monkeypatch.setattr(checks, 'configured_stores', configured_stores)
    targets = [(True, 'no ceph-native path')]
    monkeypatch.setattr(checks, 'fast_snapshot_targets',
                        lambda conf, glance, ctxt: targets)
    return targets


def test_check_all_ok_exits_zero(check_parts):
    rc, out = run(cli.cmd_check)
    assert rc == 0
    assert out.splitlines() == [
        'OK   Glance answers at its [glance] endpoint',
        'OK   Glance multi-store is on: fast (default), web (read-only), '
        'ceph',
        'OK   upload hooks load: multistore',
        'OK   [glance] store fast is a writable Glance store',
        'OK   no ceph-native path',
        'OK   store fast (file: /d): snapshots stream into it with their '
        'size',
        'OK   store web (http) is read-only: never a snapshot target']


def test_check_unreachable_glance_fails_and_skips_store_checks(
        check_parts, monkeypatch):
    def unreachable(conf):
        raise ConnectionError('connection refused')
    monkeypatch.setattr(glance_client, 'service_context', unreachable)
    rc, out = run(cli.cmd_check)
    assert rc == 1
    assert out.splitlines() == [
        'FAIL Glance cannot be reached: connection refused',
        'OK   upload hooks load: multistore']


def test_check_multistore_off_fails(check_parts, facts):
    facts.body = None
    rc, out = run(cli.cmd_check)
    assert rc == 1
    assert 'FAIL Glance multi-store is off' in out


def test_check_hook_that_does_not_load_fails(check_parts, monkeypatch):
    def broken(conf):
        raise exception.GlanceMultistoreError('hook nope not found')
    monkeypatch.setattr(pipeline, 'UploadHookPipeline', broken)
    rc, out = run(cli.cmd_check)
    assert rc == 1
    assert 'FAIL hook nope not found\n' in out
    assert 'upload hooks load' not in out


def test_check_failed_store_finding_fails_the_check(check_parts):
    check_parts[:] = [(False, 'rbd store ceph: pool images is not usable')]
    rc, out = run(cli.cmd_check)
    assert rc == 1
    assert 'FAIL rbd store ceph: pool images is not usable\n' in out


def test_check_on_rbd_hosts_adds_the_copy_on_write_findings(
        check_parts, monkeypatch):
    from nova.storage import rbd_utils
    monkeypatch.setattr(rbd_utils, 'RBDDriver', lambda: 'driver')
    seen = []

    def findings(conf, driver):
        seen.append(driver)
        return [(False, 'copy-on-write: rbd_move_parent_to_trash_on_remove '
                        'false')]
    monkeypatch.setattr(checks, 'copy_on_write', findings)
    rc, out = run(cli.cmd_check, conf=_conf('rbd'))
    assert rc == 1 and seen == ['driver']
    assert out.endswith('FAIL copy-on-write: '
                        'rbd_move_parent_to_trash_on_remove false\n')


class Driver:
    pool = 'vms'

    def get_fsid(self):
        return FSID


def _pin(image, disk_id, allocated, pool='images'):
    return trash_pins.Pin(pool, image, 'vms', 'disk-' + disk_id, disk_id,
                          allocated)


@pytest.fixture
def pinned_parts(monkeypatch, facts):
    from nova.storage import rbd_utils
    monkeypatch.setattr(rbd_utils, 'RBDDriver', Driver)
    monkeypatch.setattr(rbd_stores, 'known_locations', lambda *a: {
        'ceph': (rbd_stores.RbdLocation(FSID, 'images'), 'detail'),
        'ceph2': (rbd_stores.RbdLocation(FSID, 'images'), 'config'),
        'remote': (rbd_stores.RbdLocation(OTHER_FSID, 'far'), 'detail')})
    asked, found = [], []

    def pins(driver, pools):
        asked.append(pools)
        return found
    monkeypatch.setattr(trash_pins, 'pins', pins)
    return asked, found


def test_pinned_on_a_host_without_rbd_disks(pinned_parts):
    rc, out = run(cli.cmd_pinned)
    assert rc == 0
    assert out == ('[libvirt] images_type is qcow2: no instance disk of this '
                   'host is in Ceph.\n')
    assert pinned_parts[0] == []


def test_pinned_reads_only_pools_of_the_disks_cluster(pinned_parts):
    rc, out = run(cli.cmd_pinned, conf=_conf('rbd'))
    assert rc == 0
    assert pinned_parts[0] == [['images']]
    assert out == ('No snapshot image keeps a deleted instance disk of pool '
                   'vms in the trash.\n')


def test_pinned_lists_images_and_counts_each_disk_once(pinned_parts):
    pinned_parts[1][:] = [_pin('img-1', 'd1', 3 << 20),
                          _pin('img-2', 'd1', 3 << 20),
                          _pin('img-3', 'd2', 1 << 19)]
    rc, out = run(cli.cmd_pinned, conf=_conf('rbd'))
    assert rc == 0
    rows = [line for line in out.splitlines() if '| img-' in line]
    assert len(rows) == 3
    assert [c.strip() for c in rows[0].split('|')[1:-1]] == [
        'img-1', 'ceph,ceph2', 'images', 'vms/disk-d1 (id d1)', '3.0 MiB']
    assert out.splitlines()[-1] == (
        '3 snapshot image(s) keep 2 deleted instance disk(s) (3.5 MiB) in '
        'the trash of pool vms until they are deleted.')


def test_explain_prints_the_store_and_why(facts, monkeypatch):
    planned = []

    class Plan:
        def __init__(self, conf):
            pass

        def plan(self, ctxt, instance, image_id):
            planned.append((ctxt, instance.image_ref, image_id))
            return types.SimpleNamespace(store='ceph', source=None,
                                         reason='base image store',
                                         copy_to=('edge',),
                                         copy_source='flavor f')
    monkeypatch.setattr(uploads, 'StoreAwareUploads', Plan)
    rc, out = run(cli.cmd_explain, image='base-1', server=None, flavor=None)
    assert rc == 0
    assert planned == [('service-ctxt', 'base-1', '(new snapshot)')]
    assert out == ('store:  ceph\nsource: base image store\n'
                   'copies: edge (flavor f)\n')
    assert run(cli.cmd_explain, image='b', server='s', flavor=None)[0] == 2


def test_explain_without_multistore_and_when_refused(facts, monkeypatch):
    answers = [types.SimpleNamespace(store=None, reason='multi-store off',
                                     source=None, copy_to=()),
               exception.GlanceMultistoreError('store web is read-only')]

    class Plan:
        def __init__(self, conf):
            pass

        def plan(self, ctxt, instance, image_id):
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
    monkeypatch.setattr(uploads, 'StoreAwareUploads', Plan)
    assert run(cli.cmd_explain, image='b', server=None, flavor=None) == (
        0, "store:  (Glance's choice: multi-store is off)\n"
           "source: multi-store off\ncopies: none\n")
    assert run(cli.cmd_explain, image='b', server=None, flavor=None) == (
        1, 'refused: store web is read-only\n')


def test_main_reports_an_error_on_stderr_and_exits_one(monkeypatch, capsys):
    def boom(args):
        raise RuntimeError('no nova.conf here')
    monkeypatch.setattr(cli, '_load_conf', boom)
    out = io.StringIO()
    assert cli.main(['check'], out=out) == 1
    assert out.getvalue() == ''
    assert capsys.readouterr().err == (
        'nova-glance-multistore: no nova.conf here\n')


def test_main_runs_the_command_with_the_loaded_conf(monkeypatch):
    conf = _conf()
    monkeypatch.setattr(cli, '_load_conf', lambda args: conf)
    out = io.StringIO()
    assert cli.main(['pinned'], out=out) == 0
    assert 'images_type is qcow2' in out.getvalue()


def test_parser_requires_a_command():
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args([])
    args = parser.parse_args(['--config-file', 'a', '--config-file', 'b',
                              'stores', '--detail'])
    assert args.config_file == ['a', 'b'] and args.detail
    assert args.func is cli.cmd_stores
