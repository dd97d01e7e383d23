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

"""Concurrent snapshots in a process started the way nova-compute starts.

Run as ``python tests/functional/concurrent_snapshots.py --config-file
nova.conf --expect MODE < spec.json``. Its first statement is the first
statement of ``nova/cmd/compute.py``: nova 34 picks native threading
unless ``OS_NOVA_DISABLE_EVENTLET_PATCHING`` or ``[DEFAULT]
concurrency_backend`` in a ``--config-file`` asks for (deprecated)
eventlet, and then monkey-patches before anything else is imported. A
pytest process cannot do that (eventlet and nova are imported long before
a test runs), hence a process of its own.

Then nova's real LibvirtDriver with our plugin snapshots the guests the
caller defined, all at once, on the executor nova-compute runs snapshots
on (``thread_pool_factory`` LONG_TASK: native threads, or green threads
under eventlet), and one JSON object goes to stdout: the concurrency mode
that was really active, and which image each snapshot produced. The caller
checks the images in Glance.
"""

from nova import monkey_patch; monkey_patch.patch(backend='threading')  # noqa

import argparse  # noqa: E402,I100
import faulthandler  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402


def active_mode():
    """What this process really runs with, asked of nova, oslo and eventlet.

    In native threading mode nova forbids importing eventlet (an import
    raises); in eventlet mode ``thread`` and ``socket`` are patched.
    """
    import oslo_service.backend as service_backend

    from nova import utils

    facts = {
        'nova_monkey_patched': monkey_patch.is_patched(),
        'nova_concurrency_mode_threading':
            utils.concurrency_mode_threading(),
        'oslo_service_backend': getattr(
            service_backend.get_backend_type(), 'value', None),
    }
    try:
        import eventlet.patcher
    except ImportError as e:
        facts.update(eventlet_importable=False, eventlet_import_error=str(e),
                     thread_patched=False, socket_patched=False)
    else:
        facts.update(
            eventlet_importable=True,
            thread_patched=eventlet.patcher.is_monkey_patched('thread'),
            socket_patched=eventlet.patcher.is_monkey_patched('socket'))
    facts['mode'] = ('eventlet' if facts['thread_patched'] and
                     facts['nova_monkey_patched'] else 'threading')
    return facts


def _os_thread_id():
    """The OS thread running now.

    Under eventlet, ``threading.get_ident`` names the green thread instead.
    """
    if 'eventlet' in sys.modules:
        import eventlet.patcher
        return eventlet.patcher.original('_thread').get_ident()
    import _thread
    return _thread.get_ident()


class _RecordedFile:
    """The snapshot file, noting the OS thread of each read of it."""

    def __init__(self, raw, os_threads):
        self._raw = raw
        self._os_threads = os_threads

    def read(self, *args):
        self._os_threads.append(_os_thread_id())
        return self._raw.read(*args)

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __iter__(self):
        return iter(lambda: self.read(65536), b'')


class Probe:
    """Counts snapshots in flight; where each upload's HTTP and reads ran."""

    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.upload_os_threads = []
        self.read_os_threads = []

    def wrap_snapshot(self, snapshot):
        def _snapshot(*args, **kwargs):
            with self.lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                return snapshot(*args, **kwargs)
            finally:
                with self.lock:
                    self.in_flight -= 1
        return _snapshot

    def wrap_upload_data(self, upload_data):
        def _upload_data(service, context, image_id, data):
            return upload_data(service, context, image_id,
                               _RecordedFile(data, self.read_os_threads))
        return _upload_data

    def wrap_upload(self, put):
        def _put(service, *args, **kwargs):
            self.upload_os_threads.append(_os_thread_id())
            return put(service, *args, **kwargs)
        return _put


def run(spec, probe):
    from nova import thread_pool_factory

    from localenv import nova_compute
    from nova_glance_multistore import image_api

    count = len(spec['guests'])
    overrides = {('DEFAULT', 'max_concurrent_snapshots'): count,
                 ('DEFAULT', 'max_concurrent_builds'): count}
    for group, name, value in spec.get('overrides', []):
        overrides[(group, name)] = value
    compute = nova_compute.NovaCompute(
        spec['workdir'], spec['glance_url'], spec['libvirt_uri'],
        spec['virt_type'], overrides=overrides)
    service = image_api.StoreAwareImageService
    service._put_with_retries = probe.wrap_upload(service._put_with_retries)
    service._upload_data = probe.wrap_upload_data(service._upload_data)
    compute.start()
    main_os_thread = _os_thread_id()
    snapshot = probe.wrap_snapshot(compute.snapshot)
    try:
        jobs = []
        for guest in spec['guests']:
            compute._next_id = guest['id']  # instance-%08x, as defined
            instance = compute.make_instance(guest['base_id'])
            instance.uuid = guest['uuid']
            instance.obj_reset_changes()
            ctxt = compute.context()
            image_id = compute.create_queued_image(ctxt, instance)
            jobs.append((guest, image_id, thread_pool_factory.spawn_on(
                thread_pool_factory.ExecutorType.LONG_TASK, snapshot,
                ctxt, instance, image_id)))
        executor = thread_pool_factory.get_executor(
            thread_pool_factory.ExecutorType.LONG_TASK)
        results = []
        for guest, image_id, future in jobs:
            try:
                future.result(timeout=600)
                error = None
            except Exception as e:
                error = '%s: %s' % (type(e).__name__, e)
            results.append({'uuid': guest['uuid'],
                            'base_id': guest['base_id'],
                            'image_id': image_id, 'error': error})
        # Copies to more stores run in the background (green threads
        # under eventlet): let them finish before the process ends.
        copies_settled = compute.driver._store_aware_uploads.copies.wait(120)
    finally:
        compute.stop()
    return {
        'results': results,
        'copies_settled': copies_settled,
        'executor': type(executor).__name__,
        'peak_in_flight': probe.peak,
        'uploads': len(probe.upload_os_threads),
        'uploads_on_main_os_thread': sum(
            1 for ident in probe.upload_os_threads
            if ident == main_os_thread),
        'reads': len(probe.read_os_threads),
        'reads_on_main_os_thread': sum(
            1 for ident in probe.read_os_threads
            if ident == main_os_thread),
    }


def _dump_green_stacks_after(seconds):
    """Under eventlet, print each green thread's stack after ``seconds``.

    From an OS thread of its own, which a stuck hub cannot stop.
    """
    if 'eventlet' not in sys.modules:
        return
    import eventlet.patcher
    import gc

    import greenlet

    def _dump():
        eventlet.patcher.original('time').sleep(seconds)
        for obj in gc.get_objects():
            if isinstance(obj, greenlet.greenlet) and obj.gr_frame:
                sys.stderr.write('green thread %r:\n%s' % (obj, ''.join(
                    traceback.format_stack(obj.gr_frame))))
        sys.stderr.flush()

    native = eventlet.patcher.original('threading')
    native.Thread(target=_dump, daemon=True).start()


def _save_coverage():
    """os._exit below skips atexit, where coverage.py saves its data."""
    try:
        import coverage
    except ImportError:
        return
    current = coverage.Coverage.current()
    if current is not None:
        current.stop()
        current.save()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--config-file', action='append', default=[])
    parser.add_argument('--expect', choices=['threading', 'eventlet'],
                        required=True)
    parser.add_argument('--mode-only', action='store_true')
    parser.add_argument('--dump-stacks-after', type=float)
    args = parser.parse_args()
    if args.dump_stacks_after:
        # A hang is diagnosed from every OS thread's and green thread's
        # stack on stderr.
        faulthandler.dump_traceback_later(args.dump_stacks_after)
        _dump_green_stacks_after(args.dump_stacks_after)
    report = {'mode': active_mode()}
    if report['mode']['mode'] != args.expect:
        report['error'] = 'expected %s mode, running in %s mode' % (
            args.expect, report['mode']['mode'])
    elif not args.mode_only:
        try:
            report.update(run(json.load(sys.stdin), Probe()))
        except Exception:
            report['error'] = traceback.format_exc()
    sys.stdout.write(json.dumps(report) + '\n')
    sys.stdout.flush()
    _save_coverage()
    # nova-compute never stops libvirt's native event thread; neither do
    # we wait for it.
    os._exit(1 if 'error' in report else 0)


if __name__ == '__main__':
    main()
