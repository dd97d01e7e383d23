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

"""Load the configured upload hooks with stevedore and run them in order."""

import dataclasses

from oslo_log import log as logging
from stevedore import extension
from stevedore import named

from nova_glance_multistore import exception
from nova_glance_multistore.hooks import base

LOG = logging.getLogger(__name__)


def installed_hook_names():
    manager = extension.ExtensionManager(base.NAMESPACE, invoke_on_load=False)
    return sorted(manager.names())


class UploadHookPipeline:
    """The hooks named in ``[glance_multistore] upload_hooks``, in order.

    Built once per nova-compute. A name that is not installed, or a hook
    that fails to load, stops the driver from starting with an error that
    says which, rather than uploading images somewhere unexpected.
    """

    def __init__(self, conf, names=None):
        names = list(conf.glance_multistore.upload_hooks
                     if names is None else names)
        self.names = names

        def _missing(missing):
            raise exception.UploadHookNotFound(
                names=', '.join(sorted(missing)), namespace=base.NAMESPACE,
                installed=', '.join(installed_hook_names()) or 'none')

        def _failed(manager, entrypoint, error):
            raise exception.UploadHookLoadFailed(
                name=entrypoint.name, namespace=base.NAMESPACE, reason=error)

        self._manager = named.NamedExtensionManager(
            base.NAMESPACE, names=names, invoke_on_load=True,
            invoke_args=(conf,), name_order=True,
            on_missing_entrypoints_callback=_missing,
            on_load_failure_callback=_failed)
        for ext in self._manager.extensions:
            if not isinstance(ext.obj, base.UploadHook):
                raise exception.UploadHookLoadFailed(
                    name=ext.name, namespace=base.NAMESPACE,
                    reason='%r is not an UploadHook' % type(ext.obj))

    def run(self, request):
        for ext in self._manager.extensions:
            before = request.target
            ext.obj.before_upload(request)
            if request.target is not before:
                if (request.target is not None and
                        getattr(request.target, 'source', True) is None):
                    # Errors name who chose: this hook, unless it said.
                    request.target = dataclasses.replace(
                        request.target, source='upload hook %s' % ext.name)
                LOG.debug('Upload hook %(hook)s set the target of image '
                          '%(image_id)s to %(target)s.',
                          {'hook': ext.name, 'image_id': request.image_id,
                           'target': request.target},
                          instance=request.instance)
        return request.target
