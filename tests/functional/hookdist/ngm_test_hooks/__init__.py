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

"""Hooks of a separate distribution, to prove the extension point."""

from nova_glance_multistore import hooks
from nova_glance_multistore import target


class PinToArchiveHook(hooks.UploadHook):
    """Sends every backup to the archive store."""

    def before_upload(self, request):
        if request.kind == 'backup':
            request.target = target.UploadTarget(
                'archive', 'backups are archived', request.base_image_ref)


class PinToReservedHook(hooks.UploadHook):
    """A careless hook: the validation after the hooks must refuse it."""

    def before_upload(self, request):
        request.target = target.UploadTarget(
            'os_glance_tasks_store', 'careless', request.base_image_ref)
