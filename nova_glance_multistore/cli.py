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

"""nova-glance-multistore: the operator's view of where snapshots go.

Reads the same nova.conf as nova-compute (``[glance]`` endpoint and
``store``, ``[service_user]`` credentials, ``[glance_multistore]``) and asks
the same Glance.

It prints its findings and nothing else: nova is started in native
threading mode (as nova-compute 34 starts by default), so eventlet is never
imported and neither its deprecation banner nor oslo.service's backend
lines appear, and the libraries' log lines (which repeat what the findings
say) are shown only with ``--debug``.
"""

import argparse
import json
import logging as std_logging
import os
import sys
import types

# Loggers whose lines --debug brings back; without it the CLI's findings
# say the same (nova's Glance client logs an ERROR and a traceback for an
# unreachable Glance that the FAIL line already reports).
LIBRARY_LOGGERS = ('nova', 'oslo_service', 'oslo_config', 'keystoneauth',
                   'glanceclient', 'stevedore', 'urllib3')


def use_native_threading():
    """Select nova's native threading mode before nova is imported.

    The same call nova-compute makes first (``nova/cmd/compute.py``), with
    the environment variable nova gives precedence over ``[DEFAULT]
    concurrency_backend``: the CLI runs a few requests one after another,
    so even on a host whose nova-compute still runs with eventlet it has no
    use for it. nova then forbids importing eventlet, which is where the
    banner came from (futurist and oslo.service import it when present).

    Does nothing when nova or eventlet is already loaded (``main()`` called
    from a process that chose its mode itself).
    """
    if 'eventlet' in sys.modules or 'nova.conf' in sys.modules:
        return False
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = 'true'
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')
    return True


def _load_conf(args):
    import nova.conf
    from oslo_log import log as logging

    from nova_glance_multistore import opts

    conf = nova.conf.CONF
    logging.register_options(conf)
    conf([], project='nova', default_config_files=args.config_file or [],
         default_config_dirs=args.config_dir or [])
    # nova-compute's logging settings in nova.conf are not the CLI's:
    # stdout is for the answers, log lines go to stderr only.
    for name, value in (('log_file', None), ('log_dir', None),
                        ('log_config_append', None), ('use_stderr', True),
                        ('use_syslog', False), ('use_journal', False),
                        ('use_json', False), ('debug', args.debug)):
        conf.set_override(name, value)
    if args.debug:
        logging.set_defaults(default_log_levels=[
            level for level in logging.get_default_log_levels()
            if level.partition('=')[0] not in LIBRARY_LOGGERS])
    else:
        logging.set_defaults(default_log_levels=[
            'nova=CRITICAL', 'nova_glance_multistore=WARN'])
    logging.setup(conf, 'nova-glance-multistore')
    if not args.debug:
        std_logging.getLogger().setLevel(std_logging.ERROR)
    opts.register_opts(conf)
    return conf


def _table(rows, headers):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    out = [line, '| ' + ' | '.join(str(h).ljust(w) for h, w in zip(
        headers, widths)) + ' |', line]
    for row in rows:
        out.append('| ' + ' | '.join(str(c).ljust(w) for c, w in zip(
            row, widths)) + ' |')
    out.append(line)
    return '\n'.join(out)


def cmd_stores(conf, args, out):
    from nova_glance_multistore import glance_client
    from nova_glance_multistore import store_kinds
    from nova_glance_multistore.stores import StoreList

    facts = glance_client.GlanceFacts()
    ctxt = glance_client.service_context(conf)
    body = (facts.stores_info_detail(ctxt) if args.detail
            else facts.stores_info(ctxt))
    if body is None:
        out.write('Multi-store is not enabled in Glance '
                  '(GET /v2/info/stores answered 404).\n')
        return 1
    stores = StoreList.from_api(body)
    headers = ['id', 'default', 'read-only', 'description']
    if args.detail:
        headers += ['type', 'what', 'properties']
    raw = {e['id']: e for e in body['stores']}
    rows = []
    for store in stores.stores:
        row = [store.id, 'yes' if store.default else '',
               'yes' if store.read_only else '', store.description]
        if args.detail:
            entry = raw[store.id]
            row += [entry.get('type', ''), store_kinds.summary(entry),
                    json.dumps(entry.get('properties', {}), sort_keys=True)]
        rows.append(row)
    out.write(_table(rows, headers) + '\n')
    return 0


def cmd_check(conf, args, out):
    from nova_glance_multistore import checks

    findings = checks.all_findings(conf)
    for ok, message in findings:
        out.write('%s %s\n' % ('OK  ' if ok else 'FAIL', message))
    return 0 if all(ok for ok, _ in findings) else 1


def _mib(size):
    return '%.1f MiB' % (size / float(1 << 20))


def cmd_pinned(conf, args, out):
    """Snapshot images that keep deleted instance disks in Ceph's trash."""
    from nova.storage import rbd_utils

    from nova_glance_multistore import glance_client
    from nova_glance_multistore import rbd_stores
    from nova_glance_multistore import trash_pins

    if conf.libvirt.images_type != 'rbd':
        out.write('[libvirt] images_type is %s: no instance disk of this '
                  'host is in Ceph.\n' % conf.libvirt.images_type)
        return 0
    driver = rbd_utils.RBDDriver()
    fsid = driver.get_fsid()
    locations = rbd_stores.known_locations(
        conf, glance_client.GlanceFacts(), glance_client.service_context(
            conf))
    stores = {}
    for store, (location, _source) in sorted(locations.items()):
        if location.fsid == fsid:
            stores.setdefault(location.pool, []).append(store)
    found = trash_pins.pins(driver, sorted(stores))
    if not found:
        out.write('No snapshot image keeps a deleted instance disk of pool '
                  '%s in the trash.\n' % driver.pool)
        return 0
    rows = [(pin.image, ','.join(stores[pin.image_pool]), pin.image_pool,
             '%s/%s (id %s)' % (pin.disk_pool, pin.disk, pin.disk_id),
             _mib(pin.allocated)) for pin in found]
    out.write(_table(rows, ['image', 'store', 'pool', 'deleted disk',
                            'space held']) + '\n')
    out.write('%d snapshot image(s) keep %d deleted instance disk(s) '
              '(%s) in the trash of pool %s until they are deleted.\n' % (
                  len(found), len({pin.disk_id for pin in found}),
                  _mib(sum({pin.disk_id: pin.allocated
                            for pin in found}.values())), driver.pool))
    return 0


def _explained_instance(conf, args):
    """The instance whose next snapshot is explained, as nova would see it."""
    from nova_glance_multistore import nova_api

    if args.server:
        return nova_api.server(conf, args.server)
    return types.SimpleNamespace(
        uuid='(an instance booted from %s%s)' % (
            args.image or 'no image', ' with flavor %s' % args.flavor
            if args.flavor else ''),
        image_ref=args.image or '', task_state=None, metadata={},
        flavor=nova_api.flavor(conf, args.flavor) if args.flavor else None)


def cmd_explain(conf, args, out):
    """Where the next snapshot would go, who chose, and the copies."""
    from nova_glance_multistore import exception
    from nova_glance_multistore import glance_client
    from nova_glance_multistore import uploads

    if bool(args.server) == bool(args.image or args.flavor):
        out.write('explain needs --server, or --image and/or --flavor.\n')
        return 2
    instance = _explained_instance(conf, args)
    ctxt = glance_client.service_context(conf)
    try:
        target = uploads.StoreAwareUploads(conf).plan(
            ctxt, instance, '(new snapshot)')
    except exception.GlanceMultistoreError as e:
        out.write('refused: %s\n' % e)
        return 1
    source = target.source or target.reason
    out.write('store:  %s\nsource: %s\n%scopies: %s\n' % (
        target.store or "(Glance's choice: multi-store is off)", source,
        'reason: %s\n' % target.reason if target.reason != source else '',
        '%s (%s)' % (', '.join(target.copy_to), target.copy_source)
        if target.copy_to else 'none'))
    return 0


def cmd_image(conf, args, out):
    """Where an image is, and how its copies to more stores stand."""
    from nova_glance_multistore import glance_client
    from nova_glance_multistore import image_report

    image = glance_client.GlanceFacts().image(
        glance_client.service_context(conf), args.image_id)
    if image is None:
        out.write('Image %s is not found (or not visible to nova\'s service '
                  'user).\n' % args.image_id)
        return 1
    out.write(image_report.render(image))
    return 0 if image_report.healthy(image) else 1


def build_parser():
    parser = argparse.ArgumentParser(
        prog='nova-glance-multistore',
        description='Where nova-compute uploads snapshot, backup and shelve '
                    'images, and whether that works.')
    parser.add_argument('--config-file', action='append',
                        help='nova.conf (repeatable)')
    parser.add_argument('--config-dir', action='append')
    parser.add_argument('--debug', action='store_true',
                        help="also print nova's and the libraries' log "
                             'lines (DEBUG and up) on stderr')
    sub = parser.add_subparsers(dest='command', required=True)
    stores = sub.add_parser('stores', help="Glance's stores")
    stores.add_argument('--detail', action='store_true',
                        help='admin view: type and properties')
    stores.set_defaults(func=cmd_stores)
    check = sub.add_parser('check', help='is this host set up right?')
    check.set_defaults(func=cmd_check)
    pinned = sub.add_parser(
        'pinned', help='copy-on-write snapshot images that keep deleted '
                       'instance disks in the trash, and the space held')
    pinned.set_defaults(func=cmd_pinned)
    explain = sub.add_parser(
        'explain', help='where the next snapshot of a server (or of one '
                        'booted from an image with a flavor) would go, who '
                        'chose the store, and its copies')
    explain.add_argument('--image', help='base image id')
    explain.add_argument('--flavor', help='flavor name or id (its extra '
                                          "specs, read through nova's API)")
    explain.add_argument('--server', help="server id (its metadata and "
                                          "flavor, read through nova's API "
                                          'as [service_user])')
    explain.set_defaults(func=cmd_explain)
    image = sub.add_parser(
        'image', help='the stores that hold an image, and its copies '
                      'pending and failed (exit 1 if one failed)')
    image.add_argument('image_id')
    image.set_defaults(func=cmd_image)
    return parser


def main(argv=None, out=None):
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    use_native_threading()
    try:
        conf = _load_conf(args)
        return args.func(conf, args, out)
    except Exception as e:
        sys.stderr.write('nova-glance-multistore: %s\n' % e)
        return 1


if __name__ == '__main__':
    sys.exit(main())
